#if canImport(BackgroundTasks) && canImport(Network)
import BackgroundTasks
import Foundation
import Network  // NWPathMonitor; in this module the name `Network` itself is the bindings' enum

/// Background sync with BGTaskScheduler: a BGProcessingTask that needs the network runs
/// `syncNow()`; when iOS expires it, the sync is stopped with `cancelSync()` (uniffi's Swift
/// async functions do not pass Task cancellation to Rust) and the Task is cancelled. A stopped
/// sync is safe: confirmed batches stay, the next run finishes the rest.
///
/// App setup: Info.plist `BGTaskSchedulerPermittedIdentifiers` = [`cn.gridwork.sync`] and
/// `UIBackgroundModes` = [`processing`]; call `register()` before the app finishes launching,
/// `schedule()` when it goes to the background.
public final class BackgroundSync: @unchecked Sendable {
    public static let defaultIdentifier = "cn.gridwork.sync"

    private let identifier: String
    private let client: () -> GridworkClient?
    private let monitor = NWPathMonitor()

    /// `client`: the app's client, or nil while none is open (not logged in yet).
    public init(identifier: String = BackgroundSync.defaultIdentifier, client: @escaping () -> GridworkClient?) {
        self.identifier = identifier
        self.client = client
    }

    public func register() {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { [self] task in
            guard let task = task as? BGProcessingTask else { task.setTaskCompleted(success: false); return }
            handle(task)
        }
        // Tell the core which network the phone is on, so PhotoPolicy.unmeteredOnly can hold photos.
        monitor.pathUpdateHandler = { [self] path in
            guard path.status == .satisfied, let client = client() else { return }
            client.setNetwork(network: path.isExpensive || path.isConstrained ? .metered : .unmetered)
        }
        monitor.start(queue: DispatchQueue(label: "cn.gridwork.network"))
    }

    public func schedule(after seconds: TimeInterval = 15 * 60) {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        request.requiresExternalPower = false
        request.earliestBeginDate = Date(timeIntervalSinceNow: seconds)
        do {
            try BGTaskScheduler.shared.submit(request)
        } catch {
            NSLog("gridwork: cannot schedule background sync: \(error)")
        }
    }

    private func handle(_ task: BGProcessingTask) {
        schedule()  // the next run
        guard let client = client() else { task.setTaskCompleted(success: true); return }
        let work = Task { () -> Bool in
            do {
                _ = try await client.syncNow()
                return true
            } catch GridworkError.Network, GridworkError.Cancelled {
                return false  // iOS retries a failed processing task later
            } catch {
                return true  // not logged in, session refused, ...: the app shows it
            }
        }
        task.expirationHandler = {
            client.cancelSync()
            work.cancel()
        }
        Task {
            let ok = await work.value
            task.setTaskCompleted(success: ok)
        }
    }
}
#endif

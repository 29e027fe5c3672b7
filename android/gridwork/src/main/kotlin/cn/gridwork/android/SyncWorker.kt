package cn.gridwork.android

import android.content.Context
import android.util.Log
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkInfo
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import cn.gridwork.core.GridworkException
import cn.gridwork.core.SyncListener
import cn.gridwork.core.SyncProgressInfo
import java.util.concurrent.Executor
import java.util.concurrent.TimeUnit

/**
 * Background sync: push pending records, pull, and upload photos when the photo policy
 * allows on the current network. Runs on any connected network (record metadata is small);
 * before syncing it tells the core whether the network is metered, so with
 * `PhotoPolicy.UNMETERED_ONLY` photos wait for Wi-Fi.
 *
 * When WorkManager stops the worker (constraints lost, quota), the coroutine is cancelled;
 * cancelling the suspend `syncNow()` drops the Rust future, which is safe: confirmed batches
 * stay confirmed and the next run finishes the rest.
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val client = try {
            Gridwork.client(applicationContext)
        } catch (e: GridworkException) {
            Log.w(TAG, "cannot open the device database: ${e.message}")
            return Result.success() // the app handles it (e.g. WrongKey) when it opens
        }
        Gridwork.currentNetwork(applicationContext)?.let { client.setNetwork(it) }

        val progress = object : SyncListener {
            override fun onProgress(progress: SyncProgressInfo) {
                // Called on the sync's thread: hand it to WorkManager and return.
                setProgressAsync(workDataOf("phase" to progress.phase.name, "pushed" to progress.pushed,
                    "pushTotal" to progress.pushTotal, "photosDone" to progress.photosDone,
                    "photosTotal" to progress.photosTotal))
            }
        }
        val error = client.subscribe(progress).use { _ ->
            try {
                val summary = client.syncNow()
                Log.i(TAG, "synced: pushed ${summary.pushed}, pulled ${summary.pulled}, photos ${summary.photosUploaded}")
                null
            } catch (e: GridworkException) {
                Log.w(TAG, "sync failed: ${e.message}")
                e
            }
        }
        return when (syncOutcome(error)) {
            SyncOutcome.SUCCESS -> Result.success()
            SyncOutcome.RETRY -> Result.retry()
        }
    }

    companion object {
        private const val TAG = "GridworkSync"
        const val PERIODIC = "gridwork-sync-periodic"
        const val ONE_SHOT = "gridwork-sync-now"

        private val connected = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()

        /** Sync every [minutes] (WorkManager's floor is 15) while connected; call at app start. */
        fun enqueuePeriodic(context: Context, minutes: Long = 30) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(minutes, TimeUnit.MINUTES)
                .setConstraints(connected)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, request)
        }

        /**
         * Sync as soon as there is a network (after filing a record, on "sync now"). A sync
         * that has not started yet is kept (it will send what was stored before it starts);
         * behind a running one, which may be past its push, another is queued to run after
         * it ([oneShotJoin]). So a request is never lost, and at most one waits.
         */
        fun enqueueNow(context: Context) {
            val workManager = WorkManager.getInstance(context)
            val existing = workManager.getWorkInfosForUniqueWork(ONE_SHOT)
            existing.addListener({
                val states = runCatching { existing.get() }.getOrDefault(emptyList()).map { it.state.oneShotState() }
                val policy = when (oneShotJoin(states)) {
                    OneShotJoin.KEEP -> ExistingWorkPolicy.KEEP
                    OneShotJoin.APPEND -> ExistingWorkPolicy.APPEND_OR_REPLACE
                }
                val request = OneTimeWorkRequestBuilder<SyncWorker>()
                    .setConstraints(connected)
                    .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                    .build()
                workManager.enqueueUniqueWork(ONE_SHOT, policy, request)
            }, directExecutor)
        }

        /** Runs the listener on the thread that completed the query (WorkManager's own); enqueueing does not block. */
        private val directExecutor = Executor { it.run() }

        private fun WorkInfo.State.oneShotState(): OneShotState = when {
            isFinished -> OneShotState.FINISHED
            this == WorkInfo.State.RUNNING -> OneShotState.RUNNING
            else -> OneShotState.WAITING // ENQUEUED, BLOCKED
        }

        fun cancelAll(context: Context) {
            WorkManager.getInstance(context).cancelUniqueWork(PERIODIC)
            WorkManager.getInstance(context).cancelUniqueWork(ONE_SHOT)
        }
    }
}

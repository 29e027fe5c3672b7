package cn.gridwork.android

import cn.gridwork.core.GridworkException
import cn.gridwork.core.Network

// Pure Kotlin over the generated bindings (no Android classes): what SyncWorker decides.
// Compiled and tested on the JVM by the Kotlin binding suite (AndroidGlueTest).

enum class SyncOutcome { SUCCESS, RETRY }

/**
 * How a sync attempt ends for WorkManager: a network failure (the server unreachable, or a
 * sync the system stopped halfway, `Cancelled`) is retried with backoff; anything else is
 * done: success, or an error retrying will not fix (not logged in, session refused,
 * server error) that the app shows from its own state.
 */
fun syncOutcome(error: Throwable?): SyncOutcome = when (error) {
    null -> SyncOutcome.SUCCESS
    is GridworkException.Network, is GridworkException.Cancelled -> SyncOutcome.RETRY
    else -> SyncOutcome.SUCCESS
}

/** The core's network from what Android says (NET_CAPABILITY_NOT_METERED). */
fun network(notMetered: Boolean): Network = if (notMetered) Network.UNMETERED else Network.METERED

/** Where one work of the unique one-shot sync stands (androidx.work's `WorkInfo.State`, folded). */
enum class OneShotState {
    /** Not started: ENQUEUED (waiting for a network, or a retry's backoff) or BLOCKED (queued behind another). */
    WAITING,

    /** Running: it may already be past its push, and then would not send a record stored now. */
    RUNNING,

    /** SUCCEEDED, FAILED or CANCELLED. */
    FINISHED,
}

/** How a "sync now" request joins the unique one-shot sync work. */
enum class OneShotJoin {
    /** Keep what is queued (`ExistingWorkPolicy.KEEP`): a sync that has not started will send the new records too. */
    KEEP,

    /**
     * Queue a sync after the unfinished ones (`ExistingWorkPolicy.APPEND_OR_REPLACE`), or start one when none is
     * unfinished (a failed or cancelled chain is replaced, not inherited).
     */
    APPEND,
}

/**
 * The one-shot sync policy for a request made now, given the works of the unique one-shot
 * sync. A request made after the records were stored is covered by any sync that has not
 * started yet; a running sync may be past its push, so the request must run after it (the
 * core serialises syncs: a second `syncNow` waits for the first, then runs). This keeps at
 * most one sync waiting behind the running one, however often the user files or taps.
 */
fun oneShotJoin(existing: Collection<OneShotState>): OneShotJoin =
    if (OneShotState.WAITING in existing) OneShotJoin.KEEP else OneShotJoin.APPEND

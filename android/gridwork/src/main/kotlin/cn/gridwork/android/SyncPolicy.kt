package cn.gridwork.android

import cn.gridwork.core.GridworkException
import cn.gridwork.core.NetworkKind

// Pure Kotlin over the generated bindings (no Android classes): what SyncWorker decides.

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

/** The core's network kind from what Android says (NET_CAPABILITY_NOT_METERED). */
fun networkKind(notMetered: Boolean): NetworkKind = if (notMetered) NetworkKind.UNMETERED else NetworkKind.METERED

package cn.gridwork.android

// Pure Kotlin (no Android classes): tested on the JVM by the Kotlin binding suite.

/**
 * A per-process initialisation that may fail: [ensure] runs [action] until a call of it
 * returns normally, one caller at a time, and never again after that. A call that throws
 * passes the exception on and leaves it to be tried again by the next [ensure].
 */
class InitOnce<T>(private val action: (T) -> Unit) {
    @Volatile
    private var done = false

    val isDone: Boolean get() = done

    fun ensure(arg: T) {
        if (done) return
        synchronized(this) {
            if (!done) {
                action(arg)
                done = true
            }
        }
    }
}

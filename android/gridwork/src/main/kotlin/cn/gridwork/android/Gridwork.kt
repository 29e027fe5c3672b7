package cn.gridwork.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import cn.gridwork.core.GridworkClient
import cn.gridwork.core.Network
import java.io.File

/**
 * The one `GridworkClient` of the process, on an encrypted database in the app's files.
 * Call [configure] once (Application.onCreate) with the server address.
 */
object Gridwork {
    @Volatile private var serverUrl: String? = null
    @Volatile private var client: GridworkClient? = null

    fun configure(serverUrl: String) {
        this.serverUrl = serverUrl
    }

    /**
     * The client, opened on first use. Before that, once per process, it hands the app's
     * Context to the TLS certificate verifier ([PlatformTls]): without it no HTTPS request
     * could be made.
     */
    @Synchronized
    fun client(context: Context): GridworkClient {
        client?.let { return it }
        val url = checkNotNull(serverUrl) { "Gridwork.configure(serverUrl) first" }
        val app = context.applicationContext
        PlatformTls.init(app)
        val db = File(app.filesDir, "gridwork/device.db").apply { parentFile?.mkdirs() }
        return GridworkClient.open(db.path, url, DatabaseKey.hex(app)).also { client = it }
    }

    /** The network the phone is on now, as the core wants it; null when offline. */
    fun currentNetwork(context: Context): Network? {
        val cm = context.getSystemService(ConnectivityManager::class.java) ?: return null
        val caps = cm.getNetworkCapabilities(cm.activeNetwork ?: return null) ?: return null
        if (!caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)) return null
        return network(notMetered = caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED))
    }
}

//! A TCP proxy on loopback between devices and the server. It counts bytes both ways and,
//! when told to, lets requests through but cuts the connection instead of passing the
//! server's answer back: a response lost on a flaky 4G link.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
pub struct Counters {
    pub up: AtomicU64,
    pub down: AtomicU64,
    /// Responses the proxy swallowed.
    pub dropped: AtomicU64,
}

pub struct Proxy {
    pub url: String,
    drop_responses: Arc<AtomicBool>,
    /// Cut every connection once this many bytes went up in total (0: never).
    cut_up_at: Arc<AtomicU64>,
    pub counters: Arc<Counters>,
    /// Where new connections go, and how many times that changed.
    upstream: Arc<Mutex<(SocketAddr, u64)>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let drop_responses = Arc::new(AtomicBool::new(false));
        let cut_up_at = Arc::new(AtomicU64::new(0));
        let counters = Arc::new(Counters::default());
        let upstream = Arc::new(Mutex::new((upstream, 0)));
        let (flag, cut, count, to) = (drop_responses.clone(), cut_up_at.clone(), counters.clone(), upstream.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (flag, cut, count, to) = (flag.clone(), cut.clone(), count.clone(), to.clone());
                tokio::spawn(async move {
                    let (addr, epoch) = *to.lock().unwrap_or_else(|p| p.into_inner());
                    if let Ok(server) = TcpStream::connect(addr).await {
                        let moved = Moved { to, epoch };
                        relay(client, server, flag, cut, count, moved).await;
                    }
                });
            }
        });
        Proxy { url, drop_responses, cut_up_at, counters, upstream, task }
    }

    /// Send new connections to `upstream` from now on, and close the open ones at their
    /// next bytes: the address now leads to another server.
    pub fn switch_to(&self, upstream: SocketAddr) {
        let mut to = self.upstream.lock().unwrap_or_else(|p| p.into_inner());
        *to = (upstream, to.1 + 1);
    }

    /// While on, every answer from the server is swallowed and its connection cut.
    pub fn drop_responses(&self, on: bool) {
        self.drop_responses.store(on, Ordering::SeqCst);
    }

    /// Cut the connection (both ways) when the bytes sent up reach `total` (counted
    /// since the proxy started); `0` turns it off.
    pub fn cut_up_at(&self, total: u64) {
        self.cut_up_at.store(total, Ordering::SeqCst);
    }

    pub fn up(&self) -> u64 {
        self.counters.up.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A connection's upstream as it was when the connection was made.
struct Moved {
    to: Arc<Mutex<(SocketAddr, u64)>>,
    epoch: u64,
}

impl Moved {
    fn since(&self) -> bool {
        self.to.lock().unwrap_or_else(|p| p.into_inner()).1 != self.epoch
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    drop_flag: Arc<AtomicBool>,
    cut: Arc<AtomicU64>,
    count: Arc<Counters>,
    moved: Moved,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let c2 = count.clone();
    let dead = Arc::new(AtomicBool::new(false));
    let dead_up = dead.clone();
    let up = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) if moved.since() => {
                    dead_up.store(true, Ordering::SeqCst);
                    break;
                }
                Ok(n) => {
                    let before = c2.up.load(Ordering::SeqCst);
                    let limit = cut.load(Ordering::SeqCst);
                    // Pass only what fits under the cut, then stop: a link that died.
                    let n = if limit > 0 { n.min(limit.saturating_sub(before) as usize) } else { n };
                    c2.up.fetch_add(n as u64, Ordering::SeqCst);
                    if n == 0 {
                        dead_up.store(true, Ordering::SeqCst);
                        break;
                    }
                    if sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sw.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match sr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if drop_flag.load(Ordering::SeqCst) || dead.load(Ordering::SeqCst) {
                    // The server has answered (so it has done the work); the device never hears.
                    count.dropped.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                count.down.fetch_add(n as u64, Ordering::Relaxed);
                if cw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    up.abort();
    let _ = cw.shutdown().await;
}

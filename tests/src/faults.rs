//! A fault-injecting TCP proxy for the randomized sessions (tests/tests/faults.rs), and the
//! seeded random numbers they run on. Every connection through the proxy draws one fault
//! from the seed: pass, delay, drop the request, cut it mid-body going up, cut the answer
//! mid-body coming down, reset, send the request twice, or replay an old connection's bytes
//! before this one's. The same seed gives the same faults in the same order of connections.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// splitmix64: small, fast, and the same on every machine (a failing seed reproduces).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What the proxy does to one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Fault {
    #[default]
    Pass,
    /// Wait before passing anything, then again before the answer.
    Delay(u64),
    /// Read the request and close without sending it on.
    DropRequest,
    /// Send only the first bytes of the request on, then cut both ways.
    CutUp(usize),
    /// Send the request, pass the first bytes of the answer, then cut both ways.
    CutDown(usize),
    /// Close at once with a TCP reset.
    Reset,
    /// Pass normally, and send the same request bytes to the server a second time.
    Duplicate,
    /// Before passing, replay an earlier connection's request bytes to the server.
    Replay,
}

/// How many connections met each fault.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub connections: AtomicU64,
    pub passed: AtomicU64,
    pub delayed: AtomicU64,
    pub dropped: AtomicU64,
    pub cut_up: AtomicU64,
    pub cut_down: AtomicU64,
    pub reset: AtomicU64,
    pub duplicated: AtomicU64,
    pub replayed: AtomicU64,
}

impl FaultCounts {
    pub fn summary(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "{} connections: {} passed, {} delayed, {} requests dropped, {} cut going up, {} cut coming down, {} reset, \
             {} sent twice, {} old ones replayed",
            g(&self.connections),
            g(&self.passed),
            g(&self.delayed),
            g(&self.dropped),
            g(&self.cut_up),
            g(&self.cut_down),
            g(&self.reset),
            g(&self.duplicated),
            g(&self.replayed)
        )
    }
}

struct Shared {
    /// The servers behind the proxy: each connection goes to one drawn at random (no
    /// sticky sessions), so a device's next connection may reach another server.
    upstreams: Vec<SocketAddr>,
    rng: Mutex<Rng>,
    /// Percent of connections that meet a fault (0: a clean link).
    rate: AtomicU64,
    /// Request bytes of earlier connections, for replays (the last few).
    history: Mutex<Vec<Vec<u8>>>,
    counts: FaultCounts,
    closed: AtomicBool,
}

/// The request under way on one connection.
#[derive(Default)]
struct Exchange {
    /// The next bytes up start a new request.
    fresh: bool,
    fault: Fault,
    sent: usize,
    received: usize,
    captured: Vec<u8>,
}

pub struct FaultProxy {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

const HISTORY: usize = 16;
const CAPTURE_LIMIT: usize = 512 * 1024;

impl FaultProxy {
    /// A proxy to `upstream` whose faults come from `seed`, at `rate` percent of connections.
    pub async fn start(upstream: SocketAddr, seed: u64, rate: u64) -> FaultProxy {
        Self::start_over(vec![upstream], seed, rate).await
    }

    /// A proxy that sends each connection to one of `upstreams`, drawn from `seed` like
    /// the faults: a load balancer without sticky sessions, on a flaky link.
    pub async fn start_over(upstreams: Vec<SocketAddr>, seed: u64, rate: u64) -> FaultProxy {
        assert!(!upstreams.is_empty(), "a proxy needs a server");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fault proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            upstreams,
            rng: Mutex::new(Rng::new(seed)),
            rate: AtomicU64::new(rate),
            history: Mutex::new(Vec::new()),
            counts: FaultCounts::default(),
            closed: AtomicBool::new(false),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                s.counts.connections.fetch_add(1, Ordering::Relaxed);
                let s = s.clone();
                tokio::spawn(async move { s.serve(client).await });
            }
        });
        FaultProxy { url, shared, task }
    }

    /// Draw faults from `seed` from now on, at `rate` percent of requests (a new session).
    pub fn reseed(&self, seed: u64, rate: u64) {
        *self.shared.rng.lock().unwrap_or_else(|p| p.into_inner()) = Rng::new(seed);
        self.shared.history.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.set_rate(rate);
    }

    /// Percent of new requests that meet a fault; 0 for a clean link.
    pub fn set_rate(&self, percent: u64) {
        self.shared.rate.store(percent, Ordering::SeqCst);
    }

    pub fn counts(&self) -> &FaultCounts {
        &self.shared.counts
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.task.abort();
    }
}

/// Close with RST instead of FIN: a zero linger (which never blocks, unlike a non-zero
/// one, the reason tokio deprecates the setter).
#[allow(deprecated)]
fn reset(s: &TcpStream) {
    let _ = s.set_linger(Some(Duration::ZERO));
}

impl Shared {
    fn draw(&self) -> Fault {
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        if !rng.chance(self.rate.load(Ordering::SeqCst)) {
            return Fault::Pass;
        }
        match rng.below(7) {
            0 => Fault::Delay(20 + rng.below(300)),
            1 => Fault::DropRequest,
            2 => Fault::CutUp(rng.below(3000) as usize),
            3 => Fault::CutDown(rng.below(6000) as usize),
            4 => Fault::Reset,
            5 => Fault::Duplicate,
            _ => Fault::Replay,
        }
    }

    fn count(&self, fault: Fault) {
        let c = &self.counts;
        match fault {
            Fault::Pass => &c.passed,
            Fault::Delay(_) => &c.delayed,
            Fault::DropRequest => &c.dropped,
            Fault::CutUp(_) => &c.cut_up,
            Fault::CutDown(_) => &c.cut_down,
            Fault::Reset => &c.reset,
            Fault::Duplicate => &c.duplicated,
            Fault::Replay => &c.replayed,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// One connection. Each request on it (the bytes the client sends after the previous
    /// answer began) draws its own fault: keep-alive connections carry many requests.
    /// One of the servers, drawn at random.
    fn upstream(&self) -> SocketAddr {
        let n = self.upstreams.len() as u64;
        self.upstreams[self.rng.lock().unwrap_or_else(|p| p.into_inner()).below(n) as usize]
    }

    async fn serve(self: Arc<Self>, client: TcpStream) {
        let Ok(server) = TcpStream::connect(self.upstream()).await else { return };
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        let state = Arc::new(Mutex::new(Exchange { fresh: true, ..Exchange::default() }));
        let dead = Arc::new(AtomicBool::new(false));
        let (me, st, gone) = (self.clone(), state.clone(), dead.clone());
        let up = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match cr.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let starts = std::mem::replace(&mut st.lock().unwrap_or_else(|p| p.into_inner()).fresh, false);
                if starts {
                    let fault = me.draw();
                    me.count(fault);
                    {
                        let mut x = st.lock().unwrap_or_else(|p| p.into_inner());
                        x.fault = fault;
                        x.sent = 0;
                        x.received = 0;
                        x.captured.clear();
                    }
                    match fault {
                        Fault::Reset | Fault::DropRequest => break,
                        Fault::Delay(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                        Fault::Replay => {
                            let old = {
                                let h = me.history.lock().unwrap_or_else(|p| p.into_inner());
                                let mut rng = me.rng.lock().unwrap_or_else(|p| p.into_inner());
                                if h.is_empty() { None } else { Some(h[rng.below(h.len() as u64) as usize].clone()) }
                            };
                            if let Some(bytes) = old {
                                me.send_and_discard(bytes).await;
                            }
                        }
                        _ => {}
                    }
                }
                let n = {
                    let mut x = st.lock().unwrap_or_else(|p| p.into_inner());
                    let n = match x.fault {
                        Fault::CutUp(limit) => n.min(limit.saturating_sub(x.sent)),
                        _ => n,
                    };
                    x.sent += n;
                    if x.captured.len() < CAPTURE_LIMIT {
                        let room = CAPTURE_LIMIT - x.captured.len();
                        x.captured.extend_from_slice(&buf[..n.min(room)]);
                    }
                    n
                };
                if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            gone.store(true, Ordering::SeqCst);
            let _ = sw.shutdown().await;
        });
        let mut buf = vec![0u8; 64 * 1024];
        while !dead.load(Ordering::SeqCst) {
            let n = match tokio::time::timeout(Duration::from_millis(50), sr.read(&mut buf)).await {
                Err(_) => continue,
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => n,
            };
            let (fault, received, finished) = {
                let mut x = state.lock().unwrap_or_else(|p| p.into_inner());
                // The answer has begun: the request is complete; the next bytes up are a new one.
                let finished = if x.fresh { None } else { Some(std::mem::take(&mut x.captured)) };
                x.fresh = true;
                let received = x.received;
                x.received += n;
                (x.fault, received, finished)
            };
            if let Some(request) = finished.filter(|r| !r.is_empty()) {
                if fault == Fault::Duplicate {
                    let me = self.clone();
                    let again = request.clone();
                    tokio::spawn(async move { me.send_and_discard(again).await });
                }
                let mut h = self.history.lock().unwrap_or_else(|p| p.into_inner());
                if h.len() >= HISTORY {
                    h.remove(0);
                }
                h.push(request);
            }
            let n = match fault {
                Fault::CutDown(limit) => n.min(limit.saturating_sub(received)),
                _ => n,
            };
            if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        up.abort();
        let fault = state.lock().unwrap_or_else(|p| p.into_inner()).fault;
        if matches!(fault, Fault::Reset | Fault::DropRequest) {
            reset(cw.as_ref());
        } else {
            let _ = cw.shutdown().await;
        }
    }

    /// Sends `bytes` to the server on a connection of their own and reads the answers away.
    async fn send_and_discard(&self, bytes: Vec<u8>) {
        let Ok(mut s) = TcpStream::connect(self.upstream()).await else { return };
        if s.write_all(&bytes).await.is_err() {
            return;
        }
        let mut sink = vec![0u8; 64 * 1024];
        // Keep-alive: the server waits for more; read what it answers, then close.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, s.read(&mut sink)).await {
            if n == 0 || tokio::time::timeout(Duration::from_millis(300), s.read(&mut sink)).await.is_err() {
                break;
            }
        }
    }
}

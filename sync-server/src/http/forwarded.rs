//! The client's address behind a reverse proxy. Only when the connection comes from a
//! proxy the server was told to trust (`--trusted-proxy`) is the address taken from
//! `X-Forwarded-For` (the rightmost address that is not itself a trusted proxy) or, without
//! it, from `Forwarded: for=` (RFC 7239); from anyone else the headers are ignored, so a
//! client cannot pick the address its sign-in failures are counted against.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// One trusted proxy: an address or a CIDR block (`10.0.0.7`, `10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyNet {
    base: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    /// Does this block hold `ip` (an IPv4-mapped IPv6 address counts as its IPv4 address)?
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip.to_canonical()) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for ProxyNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` 不是 IP 地址或 CIDR 网段（如 10.0.0.7、10.0.0.0/8、fd00::/8）");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let base = addr.parse::<IpAddr>().map_err(|_| bad())?.to_canonical();
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?
            }
            Some(_) => return Err(bad()),
        };
        Ok(ProxyNet { base, prefix })
    }
}

impl fmt::Display for ProxyNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// The reverse proxies whose forwarding headers are believed (none by default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ProxyNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<ProxyNet>) -> Self {
        TrustedProxies(nets)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client's address for a connection from `peer` with these headers.
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops = forwarded_for(headers);
        // From the nearest hop outwards: each trusted proxy vouches for the one before it;
        // the first address that is not a trusted proxy is the client. An entry that is not
        // an address (`unknown`, an obfuscated name, garbage) vouches for nothing beyond
        // it: the last address known stands.
        let mut last = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.is_trusted(*ip) => last = *ip,
                Some(ip) => return *ip,
                None => return last,
            }
        }
        last
    }
}

/// The addresses of `X-Forwarded-For` (every such header, in order), or if there is none, the
/// `for=` of each `Forwarded` element; `None` for an entry that is not an address.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<&str> = headers.get_all("x-forwarded-for").iter().map(|v| v.to_str().unwrap_or("\u{0}")).collect();
    if !xff.is_empty() {
        return xff.iter().flat_map(|v| v.split(',')).map(parse_node).collect();
    }
    let mut out = Vec::new();
    for v in headers.get_all(axum::http::header::FORWARDED) {
        let Ok(v) = v.to_str() else {
            out.push(None);
            continue;
        };
        for element in split_outside_quotes(v, ',') {
            let node = split_outside_quotes(element, ';').into_iter().find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
            });
            // An element without `for=` says nothing of the client: it cannot be trusted past.
            out.push(node.and_then(|n| parse_node(n.trim_matches('"'))));
        }
    }
    out
}

/// `s` split at `sep` where not inside a quoted string.
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let (mut out, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// A node as proxies write it: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<Ipv6Addr>().ok().map(|ip| IpAddr::V6(ip).to_canonical())
}

/// `router` as served over plain HTTP: a request's `X-Forwarded-Proto` (which makes the
/// console set `Secure` cookies and name itself `https://`) is believed only from a trusted
/// proxy; from anyone else it is dropped. (Over TLS the server sets it itself.)
pub fn proto_from_proxies_only(router: axum::Router, proxies: std::sync::Arc<TrustedProxies>) -> axum::Router {
    router.layer(axum::middleware::from_fn(move |mut req: axum::extract::Request, next: axum::middleware::Next| {
        let proxies = proxies.clone();
        async move {
            let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
            if !peer.is_some_and(|p| proxies.is_trusted(p)) {
                req.headers_mut().remove("x-forwarded-proto");
            }
            next.run(req).await
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|s| s.parse().expect("net")).collect())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn nets_parse_and_hold_their_addresses() {
        let n: ProxyNet = "10.1.0.0/16".parse().expect("net");
        assert!(n.contains(ip("10.1.255.3")) && !n.contains(ip("10.2.0.1")));
        assert!(n.contains(ip("::ffff:10.1.0.9")), "an IPv4-mapped peer");
        assert!(!n.contains(ip("2001:db8::1")));
        let one: ProxyNet = " 192.0.2.1 ".parse().expect("net");
        assert!(one.contains(ip("192.0.2.1")) && !one.contains(ip("192.0.2.2")));
        let v6: ProxyNet = "fd00::/8".parse().expect("net");
        assert!(v6.contains(ip("fd12:3456::1")) && !v6.contains(ip("fe80::1")) && !v6.contains(ip("10.0.0.1")));
        let all: ProxyNet = "0.0.0.0/0".parse().expect("net");
        assert!(all.contains(ip("8.8.8.8")));
        assert_eq!("::ffff:10.0.0.1".parse::<ProxyNet>().expect("net").to_string(), "10.0.0.1/32");
        for bad in ["", "nginx", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8", "fd00::/129", "10.0.0/8", "10.0.0.1/8/8"] {
            assert!(bad.parse::<ProxyNet>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_header_from_an_untrusted_peer_is_ignored() {
        let t = proxies(&["10.0.0.1"]);
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9"), ("forwarded", "for=198.51.100.1")]);
        assert_eq!(t.client_addr(ip("198.51.100.77"), &spoofed), ip("198.51.100.77"));
        // No proxies configured: never.
        assert_eq!(TrustedProxies::default().client_addr(ip("10.0.0.1"), &spoofed), ip("10.0.0.1"));
    }

    #[test]
    fn the_rightmost_untrusted_address_of_the_chain_is_the_client() {
        let t = proxies(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.1");
        let at = |v: &str| t.client_addr(peer, &headers(&[("x-forwarded-for", v)]));
        assert_eq!(at("203.0.113.9"), ip("203.0.113.9"));
        // What the client itself put on the left is not believed.
        assert_eq!(at("1.2.3.4, 203.0.113.9"), ip("203.0.113.9"));
        // A second proxy of ours in between.
        assert_eq!(at("1.2.3.4, 203.0.113.9, 10.0.0.2"), ip("203.0.113.9"));
        // Only proxies of ours: the farthest.
        assert_eq!(at("10.0.0.3,10.0.0.2"), ip("10.0.0.3"));
        // Several header lines are one list.
        let two = headers(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "203.0.113.10")]);
        assert_eq!(t.client_addr(peer, &two), ip("203.0.113.10"));
        // No header: the proxy itself.
        assert_eq!(t.client_addr(peer, &HeaderMap::new()), peer);
        // X-Forwarded-For wins over Forwarded.
        let both = headers(&[("forwarded", "for=198.51.100.1"), ("x-forwarded-for", "203.0.113.11")]);
        assert_eq!(t.client_addr(peer, &both), ip("203.0.113.11"));
    }

    #[test]
    fn ipv6_and_ports_and_mapped_addresses() {
        let t = proxies(&["::1", "127.0.0.1"]);
        let at = |peer: &str, v: &str| t.client_addr(ip(peer), &headers(&[("x-forwarded-for", v)]));
        assert_eq!(at("::1", "2001:db8::7"), ip("2001:db8::7"));
        assert_eq!(at("::1", "[2001:db8::7]:4711"), ip("2001:db8::7"));
        assert_eq!(at("::1", "[2001:db8::7]"), ip("2001:db8::7"));
        assert_eq!(at("::1", "203.0.113.9:5000"), ip("203.0.113.9"));
        assert_eq!(at("::ffff:127.0.0.1", "::ffff:203.0.113.9"), ip("203.0.113.9"), "a dual-stack socket's peer");
        assert_eq!(at("::1", "203.0.113.9, ::1"), ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_for_elements() {
        let t = proxies(&["10.0.0.1"]);
        let at = |v: &str| t.client_addr(ip("10.0.0.1"), &headers(&[("forwarded", v)]));
        assert_eq!(at("for=203.0.113.9"), ip("203.0.113.9"));
        assert_eq!(at("For=\"203.0.113.9:80\";proto=https;by=10.0.0.1"), ip("203.0.113.9"));
        assert_eq!(at("for=1.2.3.4, for=\"[2001:db8:cafe::17]:4711\""), ip("2001:db8:cafe::17"));
        assert_eq!(at("proto=https;for=198.51.100.3;host=\"a,b\""), ip("198.51.100.3"), "a comma inside quotes");
        assert_eq!(at("for=198.51.100.3, for=10.0.0.1"), ip("198.51.100.3"));
        // Obfuscated, unknown or missing: nothing beyond the proxy is known.
        assert_eq!(at("for=198.51.100.3, for=_hidden"), ip("10.0.0.1"));
        assert_eq!(at("for=unknown"), ip("10.0.0.1"));
        assert_eq!(at("proto=https"), ip("10.0.0.1"));
    }

    #[test]
    fn garbage_is_never_an_address() {
        let t = proxies(&["10.0.0.1"]);
        let peer = ip("10.0.0.1");
        for v in ["", " ", "unknown", "not an ip", "203.0.113.9 extra", "[203.0.113.9]", "1.2.3.4, garbage", "300.1.1.1", ","] {
            assert_eq!(t.client_addr(peer, &headers(&[("x-forwarded-for", v)])), peer, "{v:?}");
        }
        // Garbage further left does not matter once an untrusted address is found.
        assert_eq!(t.client_addr(peer, &headers(&[("x-forwarded-for", "garbage, 203.0.113.9")])), ip("203.0.113.9"));
        // Bytes that are not text.
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_bytes(b"\xff\xfe").expect("value"));
        assert_eq!(t.client_addr(peer, &h), peer);
    }
}

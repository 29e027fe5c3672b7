//! The 小蓝棚 registry: the city's small-repair stalls (修鞋 / 修车 / 修锁配钥匙, the "小三修")
//! and its 便民市场 (convenience markets), each with a number, a place and a QR code that
//! opens its public page. Reference data: devices keep it offline, find a stall by its QR
//! code, and link an inspection (a notice or a service log) to it. The operator's name
//! and phone are personal data: officers and admins see them, everyone else masked.

use crate::privacy::{mask_name, mask_phone};
use serde::{Deserialize, Serialize};

/// The public page of a stall; a QR payload is a URL that ends in this and the code.
pub const PUBLIC_STALL_PATH: &str = "/public/stalls/";

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Trade {
    /// 修鞋
    ShoeRepair,
    /// 修车 (bicycles, e-bikes)
    BikeRepair,
    /// 修锁配钥匙
    Locksmith,
    /// 便民市场: not a stall, listed beside them on the public map.
    Market,
}

impl Trade {
    pub const ALL: [Trade; 4] = [Trade::ShoeRepair, Trade::BikeRepair, Trade::Locksmith, Trade::Market];

    pub fn as_str(self) -> &'static str {
        match self {
            Trade::ShoeRepair => "shoe_repair",
            Trade::BikeRepair => "bike_repair",
            Trade::Locksmith => "locksmith",
            Trade::Market => "market",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Trade::ShoeRepair => "修鞋",
            Trade::BikeRepair => "修车",
            Trade::Locksmith => "修锁配钥匙",
            Trade::Market => "便民市场",
        }
    }

    /// A 小蓝棚 (the markets are not).
    pub fn is_stall(self) -> bool {
        self != Trade::Market
    }
}

/// Who runs a stall. Personal data.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    pub name: String,
    pub phone: String,
}

impl std::fmt::Debug for Operator {
    // Never in logs or panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator").field("name", &mask_name(&self.name)).field("phone", &mask_phone(&self.phone)).finish()
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    /// The electronic number, e.g. `KW-XLP-007` (markets `KW-BMSC-01`).
    pub code: String,
    pub trade: Trade,
    /// Shown to the public, e.g. `胜利东街社区东门小蓝棚`.
    pub name: String,
    /// The community it stands in.
    pub community: String,
    pub address: String,
    /// WGS-84.
    pub lat: f64,
    pub lon: f64,
    /// What its QR code holds: the URL of its public page.
    pub qr: String,
    /// Opening hours as posted, e.g. `08:00-18:00`.
    #[serde(default)]
    pub hours: String,
    /// Markets have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
}

impl Stall {
    /// The same stall with the operator masked (for those without the right to see them).
    pub fn masked(&self) -> Stall {
        let operator = self.operator.as_ref().map(|o| Operator { name: mask_name(&o.name), phone: mask_phone(&o.phone) });
        Stall { operator, ..self.clone() }
    }
}

/// The stall code a QR payload names: a URL ending in `/public/stalls/<code>` (query or
/// fragment ignored), or the bare code.
pub fn code_of_qr(payload: &str) -> Option<&str> {
    let s = payload.trim();
    let s = s.split(['?', '#']).next().unwrap_or(s).trim_end_matches('/');
    let code = match s.rfind(PUBLIC_STALL_PATH.trim_end_matches('/')) {
        Some(i) => s[i + PUBLIC_STALL_PATH.len() - 1..].trim_start_matches('/'),
        None if !s.contains('/') => s,
        None => return None,
    };
    let ok = !code.is_empty() && code.len() <= 32 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some(code)
}

/// The entries of `stalls` within `radius_m` of (lat, lon), nearest first, with distances.
pub fn near<'a>(stalls: impl IntoIterator<Item = &'a Stall>, lat: f64, lon: f64, radius_m: f64) -> Vec<(&'a Stall, f64)> {
    let mut out: Vec<(&Stall, f64)> =
        stalls.into_iter().map(|s| (s, crate::geo::distance_m(lat, lon, s.lat, s.lon))).filter(|(_, d)| *d <= radius_m).collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.code.cmp(&b.0.code)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_payloads_name_their_code() {
        assert_eq!(code_of_qr("https://cg.weifang.example/public/stalls/KW-XLP-007"), Some("KW-XLP-007"));
        assert_eq!(code_of_qr("http://127.0.0.1:8080/public/stalls/KW-XLP-007/?from=qr#x"), Some("KW-XLP-007"));
        assert_eq!(code_of_qr(" KW-XLP-007 "), Some("KW-XLP-007"));
        assert_eq!(code_of_qr("https://evil.example/other/KW-XLP-007"), None);
        assert_eq!(code_of_qr("https://x/public/stalls/"), None);
        assert_eq!(code_of_qr("https://x/public/stalls/a'b"), None);
        assert_eq!(code_of_qr(""), None);
    }

    #[test]
    fn the_operator_is_masked_and_never_printed_whole() {
        let s = Stall {
            code: "KW-XLP-001".into(),
            trade: Trade::ShoeRepair,
            name: "胜利东街小蓝棚".into(),
            community: "370705001001".into(),
            address: "胜利东街88号".into(),
            lat: 36.7069,
            lon: 119.1617,
            qr: "https://x/public/stalls/KW-XLP-001".into(),
            hours: "08:00-18:00".into(),
            operator: Some(Operator { name: "王建国".into(), phone: "13805361234".into() }),
        };
        let m = s.masked();
        assert_eq!(m.operator, Some(Operator { name: "王**".into(), phone: "138****1234".into() }));
        let debug = format!("{s:?}");
        assert!(!debug.contains("13805361234") && !debug.contains("王建国"), "{debug}");
    }
}

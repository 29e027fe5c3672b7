//! The demo city's 小蓝棚 registry: 128 small-repair stalls (修鞋 / 修车 / 修锁配钥匙) spread
//! over the central city's communities, and a dozen 便民市场, each with its electronic
//! number, a place near its community's first grid, posted hours and a QR code that opens
//! its public page. Deterministic, like the rest of the demo city; operators' names and
//! phones are invented.

use super::demo_city;
use gridwork_core::reference::OrgLevel;
use gridwork_core::stalls::{Operator, PUBLIC_STALL_PATH, Stall, Trade};

/// How many 小蓝棚 the seed city has.
pub const STALLS: usize = 128;
/// How many 便民市场 the demo lists beside them.
pub const MARKETS: usize = 12;
/// The address the printed QR codes point at (the city's public site).
pub const PUBLIC_BASE: &str = "https://cg.weifang.example";

const SURNAMES: &[char] = &['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙', '马', '朱', '胡', '郭'];
const GIVEN: &[&str] = &["建国", "秀兰", "志强", "桂英", "国庆", "玉梅", "永刚", "凤英", "德胜", "淑珍", "海涛", "春燕"];
const SPOTS: &[&str] = &["东门", "西门", "南门", "北门", "菜市场旁", "公交站旁", "小区广场"];
const MARKET_NAMES: &[&str] =
    &["东关", "樱园", "十笏园", "健康街", "坊茨", "寒亭", "新城", "双杨", "北海", "虞河", "白浪河", "鸢都"];

/// District short prefixes of the stall codes.
fn district_prefix(code: &str) -> &'static str {
    match &code[..6] {
        "370705" => "KW",
        "370702" => "WC",
        "370704" => "FZ",
        "370703" => "HT",
        "370791" => "GX",
        _ => "JJ",
    }
}

/// The registry.
pub fn stalls() -> Vec<Stall> {
    let orgs = demo_city::orgs();
    let communities: Vec<_> = orgs.iter().filter(|o| o.level == OrgLevel::Community).collect();
    let name_of = |code: &str| orgs.iter().find(|o| o.code == code).map(|o| o.name.clone()).unwrap_or_default();
    let mut out = Vec::with_capacity(STALLS + MARKETS);
    let mut per_district = std::collections::HashMap::<&str, usize>::new();
    for i in 0..STALLS {
        // Spread over the communities (43 is prime to 185: 128 different ones).
        let c = communities[(i * 43) % communities.len()];
        let (lat, lon) = demo_city::grid_position(&format!("{}-01", c.code)).unwrap_or((36.7069, 119.1617));
        let prefix = district_prefix(&c.code);
        let n = per_district.entry(prefix).or_default();
        *n += 1;
        let code = format!("{prefix}-XLP-{:03}", *n);
        let trade = [Trade::ShoeRepair, Trade::BikeRepair, Trade::Locksmith][i % 3];
        let spot = SPOTS[i % SPOTS.len()];
        let street = name_of(&c.code[..9]);
        let community = name_of(&c.code);
        let operator = Operator {
            name: format!("{}{}", SURNAMES[i % SURNAMES.len()], GIVEN[(i * 5) % GIVEN.len()]),
            phone: format!("13{}{:08}", 5 + i % 5, (i as u64 * 7_919_231 + 10_536_000) % 100_000_000),
        };
        out.push(Stall {
            qr: format!("{PUBLIC_BASE}{PUBLIC_STALL_PATH}{code}"),
            code,
            trade,
            name: format!("{community}{spot}小蓝棚"),
            community: c.code.clone(),
            address: format!("潍坊市{}{street}{community}{spot}", name_of(&c.code[..6])),
            // A few dozen metres from the grid's centre, by stall.
            lat: lat + ((i * 13) % 9) as f64 * 0.00011 - 0.0004,
            lon: lon + ((i * 7) % 9) as f64 * 0.00013 - 0.0005,
            hours: if trade == Trade::Locksmith { "08:00-20:00" } else { "08:00-18:00" }.into(),
            operator: Some(operator),
        });
    }
    for (i, name) in MARKET_NAMES.iter().enumerate().take(MARKETS) {
        let c = communities[(i * 15 + 3) % communities.len()];
        let (lat, lon) = demo_city::grid_position(&format!("{}-01", c.code)).unwrap_or((36.7069, 119.1617));
        let code = format!("{}-BMSC-{:02}", district_prefix(&c.code), i + 1);
        out.push(Stall {
            qr: format!("{PUBLIC_BASE}{PUBLIC_STALL_PATH}{code}"),
            code,
            trade: Trade::Market,
            name: format!("{name}便民市场"),
            community: c.code.clone(),
            address: format!("潍坊市{}{}{}", name_of(&c.code[..6]), name_of(&c.code[..9]), name_of(&c.code)),
            lat: lat + 0.0009,
            lon: lon - 0.0011,
            hours: "06:00-19:00".into(),
            operator: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_registry_has_128_stalls_of_three_trades_with_unique_codes_in_weifang() {
        let all = stalls();
        let stalls: Vec<_> = all.iter().filter(|s| s.trade.is_stall()).collect();
        assert_eq!(stalls.len(), STALLS);
        assert_eq!(all.len() - stalls.len(), MARKETS);
        let codes: HashSet<_> = all.iter().map(|s| &s.code).collect();
        assert_eq!(codes.len(), all.len());
        for t in [Trade::ShoeRepair, Trade::BikeRepair, Trade::Locksmith] {
            assert!(stalls.iter().filter(|s| s.trade == t).count() >= 40, "{t:?}");
        }
        let communities: HashSet<_> = stalls.iter().map(|s| &s.community).collect();
        assert!(communities.len() >= 100, "{}", communities.len());
        for s in &all {
            assert!((36.5..37.0).contains(&s.lat) && (118.9..119.4).contains(&s.lon), "{s:?}");
            assert_eq!(gridwork_core::stalls::code_of_qr(&s.qr), Some(s.code.as_str()));
            assert_eq!(s.operator.is_some(), s.trade.is_stall());
        }
        assert_eq!(all, super::stalls(), "deterministic");
    }
}

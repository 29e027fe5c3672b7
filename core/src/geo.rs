//! Distances on the ground, for places a few hundred metres apart (WGS-84).

/// Mean Earth radius (m).
pub const EARTH_M: f64 = 6_371_008.8;

/// Great-circle distance in metres (haversine).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_M * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_match_known_values() {
        // One degree of latitude is about 111.2 km; 0.00045° about 50 m.
        assert!((distance_m(36.0, 119.0, 37.0, 119.0) - 111_195.0).abs() < 10.0);
        let d = distance_m(36.7069, 119.1617, 36.70735, 119.1617);
        assert!((d - 50.0).abs() < 0.5, "{d}");
        // At 36.7° a degree of longitude is shorter by cos(latitude).
        let east = distance_m(36.7069, 119.1617, 36.7069, 119.1622);
        assert!((east - 44.6).abs() < 0.5, "{east}");
    }
}

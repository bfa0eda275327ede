//! Charts and the map as SVG drawn on the server: no script, no tile server, nothing fetched
//! from elsewhere (none is reachable from a Polres network, and the CSP forbids it). Every text
//! drawn is escaped here, since the templates embed the SVG as markup.

use std::fmt::Write;

use crate::{dashboard::DashboardView, store::dashboard::Point};

/// Six colours told apart also by people with the common colour-vision deficiencies (Okabe–Ito).
pub const AREA_COLOURS: [&str; 6] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9",
];

/// Colour of a workflow state's dots on the map.
fn state_colour(state: &str) -> &'static str {
    match state {
        "verified" => "#009E73",
        "needs_revision" | "revised" => "#E69F00",
        "rejected" => "#D55E00",
        "ready" | "forwarded" => "#0072B2",
        _ => "#555555",
    }
}

pub fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Evidence per LKE area, month by month, as stacked bars.
pub fn area_chart(view: &DashboardView, title: &str) -> String {
    let (width, height, left, bottom, top) = (760.0, 280.0, 48.0, 40.0, 16.0);
    let plot_h = height - bottom - top;
    let highest = view
        .months
        .iter()
        .map(|m| m.per_area.iter().sum::<u64>())
        .max()
        .unwrap_or(0);
    // Four gridlines at whole numbers: the axis tops at the next multiple of four steps.
    let step = highest.div_ceil(4).max(1);
    let max = step * 4;
    let n = view.months.len().max(1) as f64;
    let slot = (width - left - 8.0) / n;
    let bar = (slot * 0.7).max(2.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-labelledby="area-chart-title" class="chart" id="area-chart"><title id="area-chart-title">{}</title>"#,
        esc(title)
    );
    for i in 0..=4_u32 {
        let value = step * u64::from(i);
        let y = top + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#d0d7de"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#1b1f24">{value}</text>"##,
            width - 8.0,
            left - 6.0,
            y + 4.0
        );
    }
    for (i, month) in view.months.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let mut y = top + plot_h;
        for (a, count) in month.per_area.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let h = plot_h * *count as f64 / max as f64;
            y -= h;
            let (code, _) = &view.areas[a];
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{}"><title>{} {}: {count}</title></rect>"#,
                AREA_COLOURS[a % AREA_COLOURS.len()],
                esc(&month.month),
                esc(code)
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#1b1f24">{}</text>"##,
            x + bar / 2.0,
            height - bottom + 16.0,
            esc(month.month.get(5..).unwrap_or(&month.month))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The Buleleng demo units: approximate positions of each Polsek's sector (lon, lat), for the
/// map's labels. Real deployments would load unit outlines as data.
const BULELENG_UNITS: [(&str, &str, f64, f64); 11] = [
    ("bali/buleleng/gerokgak", "Gerokgak", 114.67, -8.18),
    (
        "bali/buleleng/celukan-bawang",
        "Celukan Bawang",
        114.83,
        -8.19,
    ),
    ("bali/buleleng/seririt", "Seririt", 114.93, -8.19),
    ("bali/buleleng/busungbiu", "Busungbiu", 114.97, -8.29),
    ("bali/buleleng/banjar", "Banjar", 115.00, -8.22),
    ("bali/buleleng/sukasada", "Sukasada", 115.10, -8.21),
    (
        "bali/buleleng/kota-singaraja",
        "Kota Singaraja",
        115.09,
        -8.115,
    ),
    ("bali/buleleng/sawan", "Sawan", 115.17, -8.14),
    ("bali/buleleng/kubutambahan", "Kubutambahan", 115.24, -8.10),
    ("bali/buleleng/tejakula", "Tejakula", 115.33, -8.13),
    (
        "bali/buleleng/busungbiu/tegal-asih",
        "Tegal Asih",
        115.00,
        -8.26,
    ),
];

/// An approximate outline of Kabupaten Buleleng (lon, lat), enough to place the points.
const BULELENG_OUTLINE: [(f64, f64); 17] = [
    (114.43, -8.10),
    (114.50, -8.06),
    (114.62, -8.12),
    (114.80, -8.17),
    (114.95, -8.17),
    (115.05, -8.10),
    (115.20, -8.08),
    (115.35, -8.10),
    (115.42, -8.15),
    (115.38, -8.25),
    (115.22, -8.25),
    (115.12, -8.30),
    (115.00, -8.36),
    (114.88, -8.33),
    (114.70, -8.27),
    (114.55, -8.22),
    (114.45, -8.18),
];

/// The area the map shows: Buleleng when the points lie there (or there are none), otherwise
/// the points' own bounds.
fn bounds(points: &[Point]) -> (f64, f64, f64, f64) {
    let buleleng = (114.40, 115.45, -8.40, -8.02);
    let inside = |p: &Point| {
        (buleleng.0..=buleleng.1).contains(&p.lon) && (buleleng.2..=buleleng.3).contains(&p.lat)
    };
    if points.iter().all(inside) {
        return buleleng;
    }
    let (mut w, mut e, mut s, mut n) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in points {
        w = w.min(p.lon);
        e = e.max(p.lon);
        s = s.min(p.lat);
        n = n.max(p.lat);
    }
    let pad = ((e - w).max(n - s) * 0.1).max(0.01);
    (w - pad, e + pad, s - pad, n + pad)
}

/// Activity locations over the unit's area, coloured by workflow state.
pub fn map(points: &[Point], title: &str) -> String {
    let (width, height) = (760.0, 340.0);
    let (west, east, south, north) = bounds(points);
    let x = |lon: f64| (lon - west) / (east - west) * width;
    let y = |lat: f64| (north - lat) / (north - south) * height;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-labelledby="map-title" class="chart" id="activity-map"><title id="map-title">{}</title>"#,
        esc(title)
    );
    let outline: Vec<String> = BULELENG_OUTLINE
        .iter()
        .map(|(lon, lat)| format!("{:.1},{:.1}", x(*lon), y(*lat)))
        .collect();
    let _ = write!(
        svg,
        r##"<rect width="{width}" height="{height}" fill="#eaf4fb"/><polygon points="{}" fill="#f6f1e4" stroke="#8c7a55" stroke-width="1.5"/>"##,
        outline.join(" ")
    );
    for (_, name, lon, lat) in BULELENG_UNITS {
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#8c7a55"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#3d3526">{}</text>"##,
            x(lon),
            y(lat),
            x(lon) + 5.0,
            y(lat) - 5.0,
            esc(name)
        );
    }
    for p in points {
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{}" fill-opacity="0.8" stroke="#fff" stroke-width="0.8"/>"##,
            x(p.lon),
            y(p.lat),
            state_colour(&p.state)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_svg_is_escaped_and_points_land_inside() {
        let points = vec![Point {
            lat: -8.14,
            lon: 115.17,
            unit: "bali/buleleng/sawan".into(),
            state: "verified".into(),
        }];
        let svg = map(&points, "<script>alert(1)</script>");
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
        assert!(svg.contains(r##"fill="#009E73""##), "a verified point");
        let far = vec![Point {
            lat: 3.59,
            lon: 98.67,
            unit: "sumut/medan".into(),
            state: "captured".into(),
        }];
        let svg = map(&far, "Medan");
        assert!(
            svg.contains(r#"cx="380.0""#),
            "a lone point elsewhere is centred: {svg}"
        );
    }
}

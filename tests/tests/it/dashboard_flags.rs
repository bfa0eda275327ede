//! The dashboard's anomaly-flag counts, on both stores: per unit, the records that carry a flag
//! (each counted once), the same number the record list finds with `flag=any` for that unit,
//! in the JSON dashboard and on the page, whose links lead to that list.

use bukti_core::device::PhotoInput;
use bukti_tests::{Backend, TestServer, both_stores, fixture, visit};
use serde_json::Value;

both_stores!(the_dashboard_counts_flagged_records_per_unit_and_links_to_them);

const SAWAN: &str = "bali/buleleng/sawan";
const GEROKGAK: &str = "bali/buleleng/gerokgak";

/// The dashboard's row of `unit`.
fn row<'a>(dashboard: &'a Value, unit: &str) -> &'a Value {
    dashboard["units"]
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["path"] == unit)
        .unwrap_or_else(|| panic!("no row for {unit}: {dashboard}"))
}

async fn the_dashboard_counts_flagged_records_per_unit_and_links_to_them(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sawan = server.device(SAWAN, "87090001").await;
    // Two photos from the gallery on one record: two flags, one flagged record.
    sawan
        .device
        .capture_with_photos(
            visit("Sambang dari galeri".into()),
            vec![
                PhotoInput::gallery(fixture("scene.jpg")),
                PhotoInput::gallery(fixture("photo.png")),
            ],
        )
        .await
        .expect("capture from the gallery");
    sawan
        .device
        .capture(visit("Sambang biasa".into()))
        .await
        .expect("capture");
    sawan.sync().await;
    let gerokgak = server.device(GEROKGAK, "87090002").await;
    gerokgak
        .device
        .capture(visit("Patroli Gerokgak".into()))
        .await
        .expect("capture");
    gerokgak.sync().await;

    let token = server.hq_token("bali/buleleng", "Kasat", "reviewer").await;
    let hq = server.hq(&token);
    let (status, dashboard) = hq.get("/dashboard?unit=bali/buleleng").await;
    assert_eq!(status, 200, "{dashboard}");
    assert_eq!(row(&dashboard, SAWAN)["flagged"], 1, "{dashboard}");
    assert_eq!(row(&dashboard, SAWAN)["total"], 2, "{dashboard}");
    assert_eq!(row(&dashboard, GEROKGAK)["flagged"], 0, "{dashboard}");
    assert_eq!(dashboard["flagged"], 1, "{dashboard}");
    // The number is the list's: the records `flag=any` finds for the unit.
    let (_, list) = hq.get(&format!("/records?unit={SAWAN}&flag=any")).await;
    let titles: Vec<&str> = list["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["title"].as_str())
        .collect();
    assert_eq!(titles, ["Sambang dari galeri"], "{list}");

    // A period before the records counts none.
    let (_, past) = hq
        .get("/dashboard?unit=bali/buleleng&from=2020-01-01&to=2020-12-31")
        .await;
    assert_eq!(past["flagged"], 0, "{past}");

    // The page shows the count as a link to that list.
    server
        .person("bali/buleleng", "85090001", &["reviewer"])
        .await;
    let web = server.web("85090001").await;
    let resp = web
        .http
        .get(format!("{}/dashboard?unit=bali/buleleng", server.url))
        .header("cookie", &web.cookie)
        .send()
        .await
        .expect("dashboard page");
    let html = resp.text().await.expect("html");
    let link = format!("/records?unit={SAWAN}&amp;flag=any&amp;from=");
    let at = html
        .find(&link)
        .unwrap_or_else(|| panic!("no link {link}: {html}"));
    let href = html[at..]
        .split('"')
        .next()
        .unwrap_or_default()
        .replace("&amp;", "&");
    let shown = html[at..]
        .split_once("\">")
        .and_then(|(_, rest)| rest.split('<').next())
        .unwrap_or_default();
    assert_eq!(shown, "1", "the link shows the count");
    let resp = web
        .http
        .get(format!("{}{href}", server.url))
        .header("cookie", &web.cookie)
        .send()
        .await
        .expect("the linked list");
    assert_eq!(resp.status().as_u16(), 200);
    let list = resp.text().await.expect("html");
    assert!(list.contains("Sambang dari galeri"), "{list}");
    assert!(
        !list.contains("Sambang biasa"),
        "unflagged records are not listed"
    );
    assert!(
        !html.contains(&format!("/records?unit={GEROKGAK}&amp;flag=any")),
        "no link for zero"
    );
    server.finish().await;
}

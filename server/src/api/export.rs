//! Exports of HQ's record list: `GET /api/v1/exports/records.csv` and `…/records.geojson` take
//! the list's filters and sort, need the export permission, and stream every selected record of
//! the caller's unit subtree, one store page at a time (memory stays flat whatever the size).
//!
//! Each export is on record before its first byte leaves: one audit entry with who, the filters
//! and how many records they selected, written fail-closed like a record view. The search text
//! itself is not logged (the log cannot forget what it holds, and a search may name a person);
//! the entry says that there was one.

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use bukti_core::unit::UnitPath;
use jiff::Timestamp;

use super::QueryParams;
use crate::{
    AppState,
    audit::{Action, Actor, AuditEvent},
    auth::Hq,
    directory::Permission,
    error::ApiResult,
    export,
    store::{DynStore, ListFilter, Page, StoreError, query::MAX_LIST_LIMIT},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    GeoJson,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::GeoJson => "geojson",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::GeoJson => "application/geo+json",
        }
    }
}

/// `GET /api/v1/exports/records.csv`
#[utoipa::path(
    get,
    path = "/exports/records.csv",
    tag = "records",
    params(ListFilter),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "Every selected record, one CSV row each", content_type = "text/csv", body = String), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn csv(
    State(state): State<AppState>,
    Hq(hq): Hq,
    params: QueryParams<ListFilter>,
) -> ApiResult<Response> {
    start(state, hq, params, Format::Csv).await
}

/// `GET /api/v1/exports/records.geojson`
#[utoipa::path(
    get,
    path = "/exports/records.geojson",
    tag = "records",
    params(ListFilter),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "Every selected record with a location, as a GeoJSON FeatureCollection", content_type = "application/geo+json", body = serde_json::Value), (status = "default", description = "Refused: `code` says why, `message` what to fix", body = bukti_core::protocol::ErrorBody))
)]
pub async fn geojson(
    State(state): State<AppState>,
    Hq(hq): Hq,
    params: QueryParams<ListFilter>,
) -> ApiResult<Response> {
    start(state, hq, params, Format::GeoJson).await
}

/// The filters as the audit entry keeps them: every one given, the search text only as `true`.
fn audited_filters(f: &ListFilter) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let given = [
        ("unit", &f.unit),
        ("kind", &f.kind),
        ("status", &f.status),
        ("verdict", &f.verdict),
        ("state", &f.state),
        ("officer", &f.officer),
        ("lke", &f.lke),
        ("lke_area", &f.lke_area),
        ("from", &f.from),
        ("to", &f.to),
        ("photos", &f.photos),
        ("sort", &f.sort),
    ];
    for (name, value) in given {
        if let Some(v) = value {
            out.insert(name.to_owned(), v.as_str().into());
        }
    }
    if f.q.as_deref().is_some_and(|q| !q.trim().is_empty()) {
        out.insert("q".to_owned(), true.into());
    }
    serde_json::Value::Object(out)
}

async fn start(
    state: AppState,
    hq: crate::directory::Principal,
    params: QueryParams<ListFilter>,
    format: Format,
) -> ApiResult<Response> {
    hq.require(Permission::Export, "exporting records")?;
    let mut filter = super::records::list_filter(params)?;
    // An export is every selected record: pages are the server's business.
    filter.cursor = None;
    filter.limit = Some(MAX_LIST_LIMIT);
    // Refuses a bad filter with 400 before anything is logged or sent.
    let counted = state.store.count(&hq.unit, &filter).await?;
    let unit = filter
        .unit
        .as_deref()
        .and_then(|u| UnitPath::parse(u).ok())
        .filter(|u| hq.unit.contains(u))
        .unwrap_or_else(|| hq.unit.clone());
    let export_id = uuid::Uuid::now_v7();
    let mut detail = serde_json::json!({
        "format": format.name(),
        "filters": audited_filters(&filter),
        "records": counted.records,
    });
    if format == Format::GeoJson {
        detail["without_location"] = counted.unlocated.into();
    }
    let event = AuditEvent::new(
        Actor::principal(&hq),
        Action::Export,
        format!("export:{export_id}"),
    )
    .in_unit(unit.as_str())
    .with_detail(detail);
    crate::audit::append(&state.store, &[event]).await?;
    tracing::info!(export = %export_id, by = %hq.name, format = format.name(), records = counted.records, "export started");

    // Two stages, so the database works on the next page while this one is encoded and sent:
    // a task reads pages (two may wait in the channel, so memory stays flat), the body encodes
    // them. A client that leaves drops the body, and the task stops at its next page.
    let (pages, rx) = tokio::sync::mpsc::channel::<Result<Page, StoreError>>(2);
    tokio::spawn(read_pages(
        state.store.clone(),
        hq.unit.clone(),
        filter,
        pages,
        export_id,
    ));
    let encoder = Encoder {
        format,
        started: false,
        rows: 0,
        skipped: 0,
        export_id,
    };
    // Fused: a body layer may poll once more after the end.
    let stream = futures::StreamExt::fuse(futures::stream::unfold(
        (rx, Some(encoder)),
        |(mut rx, encoder)| async move {
            let mut encoder = encoder?;
            match rx.recv().await {
                Some(Ok(page)) => {
                    let last = page.next_cursor.is_none();
                    let bytes = encoder.encode(&page);
                    Some((Ok(bytes), (rx, (!last).then_some(encoder))))
                }
                Some(Err(e)) => {
                    // The body ends without its last chunk: the client sees a failed download,
                    // never a short file that looks whole.
                    tracing::error!(export = %encoder.export_id, error = %e, rows = encoder.rows, "export failed midway");
                    Some((Err(std::io::Error::other(e.to_string())), (rx, None)))
                }
                None => None,
            }
        },
    ));
    let stamp = Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
    let extension = match format {
        Format::Csv => "csv",
        Format::GeoJson => "geojson",
    };
    let disposition = format!("attachment; filename=\"bukti-records-{stamp}.{extension}\"");
    let mut response = (
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response();
    let headers = response.headers_mut();
    let number = |n: u64| header::HeaderValue::from(n);
    headers.insert("x-bukti-records", number(counted.records));
    if format == Format::GeoJson {
        headers.insert("x-bukti-skipped", number(counted.unlocated));
    }
    if let Ok(id) = header::HeaderValue::from_str(&export_id.to_string()) {
        headers.insert("x-bukti-export", id);
    }
    Ok(response)
}

/// Reads the export's pages in order into `pages`, until the last, a failure, or the client
/// leaving (the receiver is gone).
async fn read_pages(
    store: DynStore,
    scope: UnitPath,
    mut filter: ListFilter,
    pages: tokio::sync::mpsc::Sender<Result<Page, StoreError>>,
    export_id: uuid::Uuid,
) {
    loop {
        let page = store.list(&scope, &filter).await;
        let next = match &page {
            Ok(page) => page.next_cursor.clone(),
            Err(_) => None,
        };
        if pages.send(page).await.is_err() {
            tracing::info!(export = %export_id, "export stopped: the client left");
            return;
        }
        match next {
            Some(cursor) => filter.cursor = Some(cursor),
            None => return,
        }
    }
}

/// The body's side of an export: each page becomes one chunk.
struct Encoder {
    format: Format,
    started: bool,
    rows: u64,
    skipped: u64,
    export_id: uuid::Uuid,
}

impl Encoder {
    /// `page` as CSV lines or GeoJSON features, after the header when it is the first and with
    /// the document's end when it is the last.
    fn encode(&mut self, page: &Page) -> Bytes {
        let mut out = Vec::with_capacity(128 * 1024);
        if !self.started {
            self.started = true;
            match self.format {
                Format::Csv => export::csv_header(&mut out),
                Format::GeoJson => out.extend_from_slice(export::GEOJSON_HEAD.as_bytes()),
            }
        }
        for s in &page.records {
            match self.format {
                Format::Csv => {
                    export::csv_row(&mut out, s);
                    self.rows += 1;
                }
                Format::GeoJson => {
                    if export::geojson_feature(&mut out, s, self.rows == 0) {
                        self.rows += 1;
                    } else {
                        self.skipped += 1;
                    }
                }
            }
        }
        if page.next_cursor.is_none() {
            if self.format == Format::GeoJson {
                out.extend_from_slice(export::geojson_tail(self.skipped).as_bytes());
            }
            tracing::info!(export = %self.export_id, rows = self.rows, skipped = self.skipped, "export finished");
        }
        Bytes::from(out)
    }
}

//! Prometheus metrics: one process-wide recorder (the `metrics` facade is global), a middleware
//! that counts and times every request by route and status, and the `/metrics` rendering.

use std::{sync::OnceLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Installs the recorder on first use; later servers in the same process share it.
    pub fn install() -> Self {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        let handle = HANDLE
            .get_or_init(|| {
                let recorder = PrometheusBuilder::new()
                    .set_buckets(&[
                        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    ])
                    .expect("static bucket list is not empty")
                    .build_recorder();
                let handle = recorder.handle();
                // Another recorder may already be installed (a host application's); then our
                // counters go there and /metrics shows only what this handle sees.
                let _ = metrics::set_global_recorder(recorder);
                handle
            })
            .clone();
        Self { handle }
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Counts and times each request, labelled by its route template (not the raw path, which would
/// put record ids into label values).
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("bukti_http_requests_total", &labels).increment(1);
    metrics::histogram!("bukti_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

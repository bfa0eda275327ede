//! A real S3-compatible server on loopback for the S3 blob-store tests: `s3s-fs` (an S3 API over
//! a folder) served by hyper in this process on 127.0.0.1:0, with signature checking on. Nothing
//! to install, so the S3 tests always run and never skip.

use std::net::SocketAddr;

use bukti_server::config::S3Settings;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder as ConnBuilder,
};
use s3s::{auth::SimpleAuth, service::S3ServiceBuilder};
use tempfile::TempDir;
use tokio::task::JoinHandle;

const ACCESS_KEY: &str = "bukti-test";
const SECRET_KEY: &str = "bukti-test-secret";
const BUCKET: &str = "bukti-photos";

/// An S3 server over a temporary folder; stops when dropped.
#[derive(Debug)]
pub struct S3Server {
    pub addr: SocketAddr,
    pub root: TempDir,
    task: JoinHandle<()>,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let root = tempfile::tempdir().expect("S3 root folder");
        // s3s-fs keeps each bucket as a folder under its root.
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket folder");
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs over the folder");
        let service = {
            let mut b = S3ServiceBuilder::new(fs);
            b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            b.build()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback for S3");
        let addr = listener.local_addr().expect("S3 address");
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            while let Ok((socket, _)) = listener.accept().await {
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        S3Server { addr, root, task }
    }

    /// Blob-store settings pointing at this server.
    pub fn settings(&self) -> S3Settings {
        S3Settings {
            endpoint: Some(format!("http://{}", self.addr)),
            bucket: BUCKET.to_owned(),
            region: "us-east-1".to_owned(),
            access_key: Some(ACCESS_KEY.to_owned()),
            secret_key: Some(SECRET_KEY.to_owned()),
        }
    }

    /// Files s3s-fs holds in the bucket (objects and upload parts), for assertions.
    pub fn object_count(&self) -> usize {
        fn walk(dir: &std::path::Path) -> usize {
            std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| {
                            let p = e.path();
                            if p.is_dir() { walk(&p) } else { 1 }
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        walk(&self.root.path().join(BUCKET))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

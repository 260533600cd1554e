//! Shared test support: one Chromium for the whole test binary (the machine has 2 cores; many
//! browsers at once make a slow, flaky suite), a runtime that owns it, `SERIAL` for the tests
//! whose `cdnprobe run` launches its own, and a logging HTTP test server.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};

use cdnprobe::browser::{Browser, BrowserOptions};
use tokio::sync::OnceCell;

/// One multi-thread runtime for the test binary: the shared browser's tasks live here, so every
/// test runs its async body with `block_on(...)` instead of `#[tokio::test]`.
pub static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
});

static BROWSER: OnceCell<Browser> = OnceCell::const_new();

/// The binary, as every test runs it: without the caller's logging or `CDNPROBE_*` settings,
/// with a bound so a hang fails instead of stalling the suite, and from a scratch directory under
/// `target/`, so a run without `--out` or `--history` never writes into the repository's `output/`.
/// Paths given to it must be absolute (`concat!(env!("CARGO_MANIFEST_DIR"), ...)`).
pub fn cdnprobe() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::from_std(cdnprobe_process());
    c.timeout(std::time::Duration::from_secs(300));
    c
}

/// [`cdnprobe`] as a plain process, for the tests that spawn it (pipes, signals).
pub fn cdnprobe_process() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_cdnprobe"));
    c.env_remove("RUST_LOG")
        .env_remove("CDNPROBE_HISTORY")
        .env_remove("CDNPROBE_PUSHGATEWAY")
        .env_remove("CDNPROBE_MAX_CONFIG_SIZE")
        .env_remove("CDNPROBE_MAX_CAPTURE_SIZE")
        .current_dir(env!("CARGO_TARGET_TMPDIR"));
    c
}

/// Held by the tests whose own Chromiums must run one at a time (cli, lab_versions, real_caches,
/// tls: each used to lock within its own binary; in one binary they share this lock). Every test
/// runs at most one `cdnprobe run` at a time, so with the harness's 2 test threads at most three
/// browsers run at once: the shared one and one run per thread.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    RT.block_on(f)
}

static BROWSER_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
static BROWSER_PROFILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// A static is never dropped, so the shared browser's kill-on-drop never runs, nor does its
/// profile directory's removal: do both when the test process exits instead (libtest returns
/// from main or calls `exit`, both run atexit). Before this, every test binary left a Chromium
/// behind, and then a `cdnprobe-chromium-*` directory in /tmp.
extern "C" fn kill_shared_browser() {
    let pid = BROWSER_PID.load(std::sync::atomic::Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: plain kill(2) and waitpid(2) on the pid of the Chromium this process launched
        // (its child), so it has stopped writing before its profile is removed.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    if let Some(dir) = BROWSER_PROFILE.get() {
        // Chromium's helper processes can still write into the profile for a moment after the
        // main process is gone: retry until it stays gone (at most about a second).
        for _ in 0..20 {
            let _ = std::fs::remove_dir_all(dir);
            std::thread::sleep(std::time::Duration::from_millis(50));
            if !dir.exists() {
                break;
            }
        }
    }
}

/// The shared Chromium of all the modules (launched on first use). Tests take a new page each.
pub async fn browser() -> &'static Browser {
    BROWSER
        .get_or_init(|| async {
            let mut b = Browser::launch(&BrowserOptions::default())
                .await
                .expect("Chromium must be installed for these tests: apt-get install -y chromium");
            let _ = BROWSER_PROFILE.set(b.profile_dir().to_path_buf());
            if let Some(pid) = b.pid() {
                BROWSER_PID.store(pid as i32, std::sync::atomic::Ordering::SeqCst);
                // SAFETY: registering a plain extern "C" fn with no captured state.
                unsafe {
                    libc::atexit(kill_shared_browser);
                }
            }
            b
        })
        .await
}

/// What a test server saw: one entry per request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub server: &'static str,
    pub method: String,
    /// Path and query, as received.
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub status: u16,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

/// Serve `router` on 127.0.0.1:0, logging every request (with the status it got) into `log`.
pub async fn serve_logged(name: &'static str, router: axum::Router, log: Log) -> SocketAddr {
    use axum::extract::Request;
    use axum::middleware::{self, Next};
    let router = router.layer(middleware::from_fn(move |req: Request, next: Next| {
        let log = log.clone();
        async move {
            let method = req.method().to_string();
            let uri = req.uri().to_string();
            let headers = req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let resp = next.run(req).await;
            log.lock().unwrap().push(Seen {
                server: name,
                method,
                uri,
                headers,
                status: resp.status().as_u16(),
            });
            resp
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

/// Serve `router` over HTTPS with the self-signed certificate in tests/fixtures/tls (valid for
/// 127.0.0.1 and localhost); with `h2`, HTTP/2 is offered by ALPN (as a CDN does) beside HTTP/1.1.
pub fn serve_tls(router: axum::Router, h2: bool) -> SocketAddr {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let fixture = |name: &str| format!("{}/tests/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture("cert.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("key.pem")).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    if h2 {
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let service = TowerToHyperService::new(router.clone());
                tokio::spawn(async move {
                    // A browser that refuses the certificate aborts the handshake: not an error.
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    }
                });
            }
        });
        addr
    })
}

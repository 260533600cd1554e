//! The one HTTP client setup (reqwest over rustls with ring): replays, the Atlassian health check
//! and the Pushgateway push all start from [`client_builder`], so the TLS provider is installed
//! in one place and `--insecure` means the same everywhere.

use std::time::Duration;

/// A client builder with the process's TLS provider installed, a timeout, and certificate
/// checks off only when `insecure` (`--insecure`).
pub(crate) fn client_builder(timeout: Duration, insecure: bool) -> reqwest::ClientBuilder {
    // Installing twice is harmless (the second call reports the first provider); rustls needs
    // one before any client is built, since the crate is compiled without a default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .tls_danger_accept_invalid_certs(insecure)
}

//! Verdicts held against real caches nobody here wrote: Debian's nginx, Apache httpd
//! (mod_cache_disk), Varnish and Squid, each started by the test on an ephemeral loopback port
//! with a configuration the test writes, in front of the lab's Jira app host (the origin alone,
//! no lab edge). `cdnprobe run` walks the bundled Jira journey through each and the `/s/*`
//! verdict and its cause must be what the real cache really did.
//!
//! `.ci/run` installs the caches (`apt-get install nginx-light apache2 varnish squid`); a missing
//! one fails its test with that hint instead of passing silently. Each test holds `SERIAL`: every
//! run launches its own Chromium, and the machine has 2 cores.

use crate::common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use cdnprobe::lab::{self, Fault, LabOptions, Product};
use common::block_on;
use serde_json::Value;

use common::SERIAL;

const INSTALL: &str = "apt-get install -y nginx-light apache2 varnish squid";

/// A cache process, killed (and waited for) when dropped.
struct Cache {
    name: &'static str,
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Cache {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Apache forks workers that outlive a killed parent for a moment; its pid file names it.
        if self.name == "apache" {
            let _ = Process::new("apache2")
                .args(["-f", &self.dir.path().join("httpd.conf").to_string_lossy()])
                .args(["-k", "stop"])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary(name: &str) -> PathBuf {
    which(name).unwrap_or_else(|| panic!("`{name}` is not installed: {INSTALL}"))
}

fn which(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

/// Whether `GET /status` through the cache (proxied to the lab) answers 200, over plain HTTP; for
/// TLS (nginx) that it accepts connections.
fn ready(port: u16, tls: bool) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    if tls {
        return true;
    }
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 16];
    s.read(&mut buf).is_ok_and(|n| {
        buf[..n].starts_with(b"HTTP/1.1 200") || buf[..n].starts_with(b"HTTP/1.0 200")
    })
}

/// Start `cmd` and wait until the cache answers (30 s at most).
fn start(
    name: &'static str,
    mut cmd: Process,
    port: u16,
    dir: tempfile::TempDir,
    tls: bool,
) -> Cache {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e} ({INSTALL})"));
    let mut cache = Cache {
        name,
        child,
        port,
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if ready(port, tls) {
            return cache;
        }
        if let Ok(Some(status)) = cache.child.try_wait() {
            panic!(
                "{name} exited at start ({status}); config in {}",
                cache.dir.path().display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{name} did not answer on 127.0.0.1:{port} within 30 s");
}

fn varnish(origin_port: u16, vcl_recv: &str) -> Cache {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let vcl = dir.path().join("lab.vcl");
    std::fs::write(
        &vcl,
        format!(
            "vcl 4.1;\nbackend default {{ .host = \"127.0.0.1\"; .port = \"{origin_port}\"; }}\n{vcl_recv}\n"
        ),
    )
    .unwrap();
    let mut cmd = Process::new(binary("varnishd"));
    cmd.arg("-F")
        .args(["-a", &format!("127.0.0.1:{port}")])
        .arg("-f")
        .arg(&vcl)
        .arg("-n")
        .arg(dir.path().join("work"))
        .args(["-s", "malloc,32m"]);
    start("varnish", cmd, port, dir, false)
}

fn apache(origin_port: u16) -> Cache {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let root = dir.path();
    let cache_root = root.join("cache");
    std::fs::create_dir(&cache_root).unwrap();
    // The workers run as nobody and write the disk cache.
    std::fs::set_permissions(
        &cache_root,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let m = "/usr/lib/apache2/modules";
    let conf = format!(
        r#"ServerRoot {root}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {root}/httpd.pid
ErrorLog {root}/error.log
LoadModule mpm_event_module {m}/mod_mpm_event.so
LoadModule authz_core_module {m}/mod_authz_core.so
LoadModule proxy_module {m}/mod_proxy.so
LoadModule proxy_http_module {m}/mod_proxy_http.so
LoadModule cache_module {m}/mod_cache.so
LoadModule cache_disk_module {m}/mod_cache_disk.so
User nobody
Group nogroup
CacheRoot {cache}
CacheEnable disk /s/
CacheEnable disk /download/resources/
CacheHeader on
CacheDetailHeader on
ProxyPreserveHost On
ProxyPass / http://127.0.0.1:{origin_port}/
ProxyPassReverse / http://127.0.0.1:{origin_port}/
"#,
        root = root.display(),
        cache = cache_root.display(),
    );
    let file = root.join("httpd.conf");
    std::fs::write(&file, conf).unwrap();
    let mut cmd = Process::new(binary("apache2"));
    cmd.arg("-f").arg(&file).arg("-DFOREGROUND");
    start("apache", cmd, port, dir, false)
}

fn squid(origin_port: u16) -> Cache {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let root = dir.path();
    // Squid drops to `proxy` and writes its log and pid there.
    let _ = Process::new("chown")
        .args(["proxy", &root.to_string_lossy()])
        .status();
    let conf = format!(
        r#"http_port 127.0.0.1:{port} accel defaultsite=127.0.0.1 vhost
cache_peer 127.0.0.1 parent {origin_port} 0 no-query originserver name=lab
http_access allow all
cache_peer_access lab allow all
cache_mem 32 MB
pid_filename {root}/squid.pid
access_log none
cache_log {root}/cache.log
cache_store_log none
coredump_dir {root}
pinger_enable off
"#,
        root = root.display()
    );
    let file = root.join("squid.conf");
    std::fs::write(&file, conf).unwrap();
    let mut cmd = Process::new(binary("squid"));
    cmd.arg("-f").arg(&file).arg("-N");
    start("squid", cmd, port, dir, false)
}

/// nginx over HTTPS and HTTP/2, caching only /s/ and /download/resources/ (pages proxied, not
/// cached), the usual hand-written setup.
fn nginx(origin_port: u16) -> Cache {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let root = dir.path();
    let tls = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");
    let conf = format!(
        r#"daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  proxy_cache_path {root}/cache keys_zone=static:10m;
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {tls}/cert.pem;
    ssl_certificate_key {tls}/key.pem;
    location / {{
      proxy_pass http://127.0.0.1:{origin_port};
      proxy_set_header Host $http_host;
    }}
    location ~ ^/(s|download/resources)/ {{
      proxy_pass http://127.0.0.1:{origin_port};
      proxy_set_header Host $http_host;
      proxy_cache static;
      add_header X-Cache-Status $upstream_cache_status always;
    }}
  }}
}}
"#,
        root = root.display()
    );
    let file = root.join("nginx.conf");
    std::fs::write(&file, conf).unwrap();
    let mut cmd = Process::new(binary("nginx"));
    cmd.arg("-c").arg(&file).arg("-p").arg(root);
    start("nginx", cmd, port, dir, true)
}

fn start_lab(faults: Vec<Fault>) -> (lab::Lab, u16) {
    let lab = block_on(lab::start(LabOptions {
        faults,
        ..Default::default()
    }))
    .unwrap();
    let port = lab.app_url(Product::Jira).port().unwrap();
    (lab, port)
}

/// `cdnprobe run URL --scenario jira-smoke.toml` through a cache: (exit code, report.json).
fn probe(lab: &lab::Lab, url: &str, extra: &[&str]) -> (i32, Value) {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = crate::common::cdnprobe();
    cmd.arg("run")
        .arg(url)
        .arg("--scenario")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/jira-smoke.toml"
        ))
        .arg("--out")
        .arg(out.path())
        .arg("--quiet")
        .args(extra)
        .envs(lab.journey_env())
        .timeout(Duration::from_secs(240));
    let output = cmd.output().unwrap();
    let code = output.status.code().unwrap_or(-1);
    let text = std::fs::read_to_string(out.path().join("report.json")).unwrap_or_else(|e| {
        panic!(
            "no report.json ({e}); exit {code}; stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (code, serde_json::from_str(&text).unwrap())
}

/// Walk the Jira journey through the cache `start` puts in front of a fresh lab's origin (with
/// `faults` on), holding `SERIAL`; the cache and the lab are stopped before this returns.
fn through(faults: Vec<Fault>, start: impl FnOnce(u16) -> Cache, extra: &[&str]) -> (i32, Value) {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (lab, origin) = start_lab(faults);
    let cache = start(origin);
    let scheme = if cache.name == "nginx" {
        "https"
    } else {
        "http"
    };
    let out = probe(
        &lab,
        &format!("{scheme}://127.0.0.1:{}/", cache.port),
        extra,
    );
    drop(cache);
    block_on(lab.shutdown());
    out
}

/// The nginx tests' behaviors file (what the nginx configuration caches), in a temp dir.
fn nginx_behaviors() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nginx.toml"), NGINX_BEHAVIORS).unwrap();
    dir
}

fn behavior<'a>(report: &'a Value, pattern: &str) -> &'a Value {
    report["behaviors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["pattern"] == pattern)
        .unwrap_or_else(|| panic!("no behavior {pattern} in {:#}", report["behaviors"]))
}

fn verdict(report: &Value, pattern: &str) -> (String, String) {
    let b = behavior(report, pattern);
    (
        b["verdict"].as_str().unwrap().to_string(),
        b["reason"].as_str().unwrap().to_string(),
    )
}

/// Nothing the tool sent asked a cache for a fresh copy: no `Pragma`/`Cache-Control: no-cache`
/// on any journey request or repeat load (Apache and Squid obey them).
fn sent_nothing_tool_caused(report: &Value) {
    for q in report["requests"].as_array().unwrap() {
        for (name, value) in q["request_headers"].as_object().unwrap() {
            let n = name.to_ascii_lowercase();
            let v = value.as_str().unwrap_or_default().to_ascii_lowercase();
            assert!(
                !(n == "pragma" || (n == "cache-control" && v.contains("no-cache"))),
                "{} ({}) sent `{name}: {value}`",
                q["url"],
                q["phase"]
            );
        }
    }
}

fn providers(report: &Value, pattern: &str) -> Vec<String> {
    let mut v: Vec<String> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["behavior"] == pattern && !q["from_browser_cache"].as_bool().unwrap_or(false))
        .map(|q| q["cache"]["provider"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn findings(report: &Value, id: &str) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .cloned()
        .collect()
}

/// Varnish 7 with its builtin VCL: `/s/*` never hits for a logged-in user, because every request
/// carries cookies and the builtin `vcl_recv` passes those. Before, the tool said NO_CDN.
#[test]
fn varnish_builtin_vcl_never_hits_and_says_it_passes_cookies() {
    let (code, r) = through(Vec::new(), |o| varnish(o, ""), &[]);
    assert_eq!(code, 1);
    assert_eq!(providers(&r, "/s/*"), ["varnish"]);
    let (v, reason) = verdict(&r, "/s/*");
    assert_eq!(v, "NEVER_HITS", "{reason}");
    assert!(
        reason.contains("builtin VCL passes every request that carries a Cookie"),
        "{reason}"
    );
    assert!(reason.contains("unset req.http.Cookie"), "{reason}");
    let f = findings(&r, "cache-passes-cookies");
    assert_eq!(f.len(), 1, "{:#}", r["findings"]);
    // Judged by Varnish's rules, not CloudFront's.
    assert!(findings(&r, "rotating-cookie-in-key").is_empty());
    sent_nothing_tool_caused(&r);
}

/// The same Varnish with the fix the finding gives: the verdict turns to HITS.
#[test]
fn varnish_with_cookies_dropped_on_static_paths_hits() {
    let (_, r) = through(
        Vec::new(),
        |o| {
            varnish(
                o,
                r#"sub vcl_recv { if (req.url ~ "^/(s|download/resources)/") { unset req.http.Cookie; } }"#,
            )
        },
        &[],
    );
    let (v, reason) = verdict(&r, "/s/*");
    assert_eq!(v, "HITS", "{reason}");
    assert_eq!(verdict(&r, "/download/resources/*").0, "HITS");
    assert!(
        findings(&r, "cache-passes-cookies").is_empty(),
        "{:#}",
        r["findings"]
    );
}

/// Apache httpd 2.4 mod_cache_disk on /s/ (the seed's "mod_disk_cache"): a first-time visitor
/// gets hits. Before, the capture sent the browser's no-cache headers, Apache obeyed them and
/// the tool said NEVER_HITS.
#[test]
fn apache_mod_cache_hits_for_a_first_time_visitor() {
    let (_, r) = through(Vec::new(), apache, &[]);
    assert_eq!(providers(&r, "/s/*"), ["apache"]);
    let (v, reason) = verdict(&r, "/s/*");
    assert_eq!(v, "HITS", "{reason}");
    sent_nothing_tool_caused(&r);
    assert!(findings(&r, "request-no-cache-obeyed").is_empty());
}

/// A realistic Apache misconfiguration: the origin (a proxy rule) sends `Cache-Control: no-cache` on
/// static resources. Apache 2.4 then never answers from its cache (measured: every load a MISS);
/// the verdict names the header and Apache as the cache that obeyed it.
#[test]
fn apache_obeying_no_cache_on_static_never_hits_with_the_cause() {
    let (code, r) = through(vec![Fault::NoCacheStatic], apache, &[]);
    assert_eq!(code, 1);
    let (v, reason) = verdict(&r, "/s/*");
    assert_eq!(v, "NEVER_HITS", "{reason}");
    assert!(reason.contains("which Apache mod_cache obeys"), "{reason}");
    assert!(reason.contains("Cache-Control: "), "{reason}");
    // The CloudFront TTL table is not quoted for Apache's answers.
    assert!(!reason.contains("by the TTL rules"), "{reason}");
}

/// Squid 5 as a reverse proxy with its defaults: hits for a first-time visitor (before: NEVER_HITS,
/// for the same no-cache reason as Apache).
#[test]
fn squid_reverse_proxy_hits() {
    let (_, r) = through(Vec::new(), squid, &[]);
    assert_eq!(providers(&r, "/s/*"), ["squid"]);
    let (v, reason) = verdict(&r, "/s/*");
    assert_eq!(v, "HITS", "{reason}");
    sent_nothing_tool_caused(&r);
}

/// Squid stores what Apache refuses (it revalidates a `no-cache` or already-expired response and
/// serves the 304-confirmed copy as a HIT: measured on this Squid 5.7), so its realistic failure is
/// on the page's side: a cache-buster parameter that changes on every load (jQuery `cache: false`,
/// a plugin). Every load is a new URL in Squid's key, and the reason says so.
#[test]
fn squid_with_a_cache_buster_never_hits_and_names_the_parameter() {
    let (code, r) = through(vec![Fault::QueryBuster], squid, &[]);
    assert_eq!(code, 1);
    let (v, reason) = verdict(&r, "/s/*");
    assert_eq!(v, "NEVER_HITS", "{reason}");
    assert!(
        reason.contains("the page changes query parameter _ on every load"),
        "{reason}"
    );
    assert!(!reason.contains("browser-cache-replay"), "{reason}");
}

const NGINX_BEHAVIORS: &str = r#"
[[behavior]]
pattern = "/s/*"
min_ttl = 0
default_ttl = 86400
max_ttl = 31536000
cookies = "none"
query = "all"

[[behavior]]
pattern = "/download/resources/*"
min_ttl = 0
default_ttl = 86400
max_ttl = 31536000
cookies = "none"
query = "all"
"#;

/// nginx over HTTPS/HTTP2 caching only /s/ and /download/resources/: /s/* HITS, and the default
/// behavior, expected to bypass, passes: nothing cached the pages, which is what bypass asks for.
#[test]
fn nginx_https_caches_static_and_the_uncached_default_meets_bypass() {
    let dir = nginx_behaviors();
    let behaviors = dir.path().join("nginx.toml");
    let (code, r) = through(
        Vec::new(),
        nginx,
        &["--insecure", "--behaviors", &behaviors.to_string_lossy()],
    );
    assert_eq!(providers(&r, "/s/*"), ["nginx"]);
    assert_eq!(verdict(&r, "/s/*").0, "HITS", "{}", verdict(&r, "/s/*").1);
    let (v, reason) = verdict(&r, "*");
    assert_eq!(v, "BYPASS", "{reason}");
    assert!(reason.contains("no cache answered"), "{reason}");
    assert!(
        r["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["protocol"] == "h2"),
        "the browser spoke HTTP/2 to nginx"
    );
    assert_eq!(code, 0, "{:#}", r["behaviors"]);
}

/// A realistic nginx misconfiguration: ALB stickiness behind it sets a cookie on every response;
/// nginx does not store responses with Set-Cookie. The cause and nginx's own fix are named.
#[test]
fn nginx_does_not_store_set_cookie_and_says_so() {
    let dir = nginx_behaviors();
    let behaviors = dir.path().join("nginx.toml");
    let (code, r) = through(
        vec![Fault::AlbStickiness],
        nginx,
        &["--insecure", "--behaviors", &behaviors.to_string_lossy()],
    );
    assert_eq!(code, 1);
    let (v, reason) = verdict(&r, "/s/*");
    assert_eq!(v, "NEVER_HITS", "{reason}");
    assert!(
        reason.contains("nginx's proxy_cache does not store a response that sets cookies"),
        "{reason}"
    );
    assert!(reason.contains("AWSALB"), "{reason}");
    let f = findings(&r, "cache-refuses-set-cookie");
    assert_eq!(f.len(), 1, "{:#}", r["findings"]);
    assert!(
        f[0]["fix"]
            .as_str()
            .unwrap()
            .contains("proxy_ignore_headers Set-Cookie")
    );
    // nginx keys on the URL alone: no CloudFront "rotating cookie in the key" story.
    assert!(findings(&r, "rotating-cookie-in-key").is_empty());
}

//! Terminal tables (tabled). Plain text, deterministic, so they can be snapshot-tested; colour
//! is added by the caller only when stdout is a terminal.

use tabled::builder::Builder;
use tabled::settings::Style;

use super::RequestRecord;

/// Shorten a URL for a table cell: drop scheme and host when `base_host` matches, keep the
/// path's head and tail, and at most `max` characters.
pub fn short_url(url: &str, max: usize) -> String {
    let s = match url::Url::parse(url) {
        Ok(u) => {
            let mut s = u.path().to_string();
            if let Some(q) = u.query() {
                s.push('?');
                s.push_str(q);
            }
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{host}:{p}{s}"),
                None => format!("{host}{s}"),
            }
        }
        Err(_) => url.to_string(),
    };
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max || max < 10 {
        return s;
    }
    let head = max * 9 / 20;
    let tail = max - head - 1;
    format!(
        "{}…{}",
        chars[..head].iter().collect::<String>(),
        chars[chars.len() - tail..].iter().collect::<String>()
    )
}

fn cell(v: Option<&str>, max: usize) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.chars().count() > max => {
            format!("{}…", v.chars().take(max - 1).collect::<String>())
        }
        Some(v) => v.to_string(),
    }
}

/// The per-request table: URL, status, type, behavior, cache status, Cache-Control, Expires, CORS.
pub fn requests_table(records: &[RequestRecord]) -> String {
    let mut b = Builder::default();
    b.push_record([
        "url",
        "status",
        "kind",
        "behavior",
        "cache",
        "cache-control",
        "expires",
        "cors",
    ]);
    for r in records {
        let status = match (&r.status, &r.failure) {
            (Some(s), None) => s.to_string(),
            (Some(s), Some(_)) => format!("{s}!"),
            (None, Some(f)) => cell(Some(&f.error_text), 20),
            (None, None) => "-".into(),
        };
        let cache = r
            .response_headers
            .get("x-cache")
            .or(r
                .cache
                .raw
                .as_deref()
                .and_then(|l| l.split_once(": ").map(|(_, v)| v)))
            .map(str::to_string)
            .unwrap_or_else(|| r.cache.status.as_str().to_string());
        b.push_record([
            short_url(&r.url, 60),
            status,
            r.asset_kind.as_str().to_string(),
            cell(r.behavior.as_deref(), 24),
            cell(Some(&cache), 24),
            cell(r.response_headers.get("cache-control"), 30),
            cell(r.response_headers.get("expires"), 29),
            cell(Some(&r.cors), 34),
        ]);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_url_keeps_host_head_and_tail() {
        let u = "http://127.0.0.1:8080/s/d41d8cd98f00b204e9800998ecf8427e-CDN/en_US/9/1/_/download/superbatch/js/batch.js?locale=en-US";
        let s = short_url(u, 40);
        assert_eq!(s.chars().count(), 40);
        assert!(s.starts_with("127.0.0.1:8080/s"), "{s}");
        assert!(s.ends_with("batch.js?locale=en-US"), "{s}");
        assert_eq!(short_url("http://h/a", 40), "h/a");
    }
}

//! Evidence helpers: exact header lines, cookies, grouping and caps.
//!
//! Evidence quotes the (redacted) records verbatim, so a reader can find the same line in
//! report.json or DevTools. Cookie values are redaction markers there; equal markers are equal
//! values within a run, which is all the cookie findings need.

use std::collections::BTreeMap;

use super::Evidence;
use crate::classify::Record;

/// At most this many evidence entries per finding; the explanation gives the total.
pub(crate) const MAX_EVIDENCE: usize = 5;

/// `Name: value` for every value of `name` (original name case), split like `Headers::get_all`.
pub(crate) fn header_lines(h: &crate::exchange::Headers, name: &str) -> Vec<String> {
    h.iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(n, v)| {
            v.split('\n')
                .filter(|x| !x.is_empty())
                .map(move |x| format!("{n}: {x}"))
        })
        .collect()
}

/// Response header lines for each name, in the order given (absent ones skipped).
pub(crate) fn response_lines(r: &Record, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| header_lines(&r.response_headers, n))
        .collect()
}

/// The cache verdict's own header lines (`X-Cache: Miss from cloudfront`, ...).
pub(crate) fn cache_lines(r: &Record) -> Vec<String> {
    r.class
        .cache
        .raw
        .as_deref()
        .map(|raw| raw.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// `HTTP 502` (or the failure text when there was no response).
pub(crate) fn status_line(r: &Record) -> String {
    match (r.status, &r.failure) {
        (Some(s), _) => format!("HTTP {s} ({} {})", r.method, r.resource_type),
        (None, Some(f)) => format!("no response: {}", f.error_text),
        (None, None) => "no response".into(),
    }
}

/// One evidence entry.
pub fn ev(r: &Record, lines: Vec<String>) -> Evidence {
    Evidence {
        url: r.url.clone(),
        lines,
    }
}

/// Keep the first `MAX_EVIDENCE` entries.
pub fn cap(mut evidence: Vec<Evidence>) -> Vec<Evidence> {
    evidence.truncate(MAX_EVIDENCE);
    evidence
}

/// `name=value` pairs of every `Cookie` request header.
pub(crate) fn request_cookies(r: &Record) -> Vec<(String, String)> {
    r.request_headers
        .cookies()
        .into_iter()
        .filter(|(n, _)| !n.is_empty())
        .collect()
}

/// One `Set-Cookie` of a response: the cookie's name, value and the exact header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetCookie {
    pub name: String,
    pub value: String,
    pub line: String,
}

pub(crate) fn set_cookies(r: &Record) -> Vec<SetCookie> {
    header_lines(&r.response_headers, "set-cookie")
        .into_iter()
        .filter_map(|line| {
            let c = crate::exchange::parse_set_cookie(line.split_once(": ")?.1)?;
            (!c.name().is_empty()).then(|| SetCookie {
                name: c.name().to_string(),
                value: c.value().to_string(),
                line: line.clone(),
            })
        })
        .collect()
}

/// Load-balancer stickiness cookies: their value changes whenever the balancer wants.
pub(crate) fn is_stickiness_cookie(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.starts_with("AWSALB")
        || n.starts_with("AWSELB")
        || n.starts_with("BIGIPSERVER")
        || matches!(
            n.as_str(),
            "ROUTEID" | "SERVERID" | "ROUTE" | "INGRESSCOOKIE" | "SRV_ID"
        )
}

/// Cookies that carry a user's session (or a per-user token): never to be shared from a cache.
pub(crate) fn is_session_cookie(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !is_stickiness_cookie(name)
        && (matches!(
            n.as_str(),
            "jsessionid" | "sessionid" | "session_id" | "session" | "atlassian.xsrf.token"
        ) || n.starts_with("seraph.")
            || n.ends_with("token")
            || n.ends_with("token_key")
            || n.ends_with("tokenkey")
            || n.ends_with("session"))
}

/// The request carries credentials: a session cookie or an `Authorization` header.
pub(crate) fn is_authenticated(r: &Record) -> bool {
    r.request_headers.contains("authorization")
        || request_cookies(r).iter().any(|(n, _)| is_session_cookie(n))
}

/// `host[:port]` of a record's URL.
pub fn host_of(r: &Record) -> String {
    url::Url::parse(&r.url)
        .ok()
        .and_then(|u| crate::exchange::host_port(&u))
        .unwrap_or_default()
}

/// Group items by a key, keeping first-seen order of keys and items.
pub(crate) fn group_by<'a, K: Ord + Clone>(
    items: impl IntoIterator<Item = &'a Record>,
    key: impl Fn(&Record) -> Option<K>,
) -> Vec<(K, Vec<&'a Record>)> {
    let mut order: Vec<K> = Vec::new();
    let mut map: BTreeMap<K, Vec<&'a Record>> = BTreeMap::new();
    for r in items {
        if let Some(k) = key(r) {
            if !map.contains_key(&k) {
                order.push(k.clone());
            }
            map.entry(k).or_default().push(r);
        }
    }
    order
        .into_iter()
        .map(|k| {
            let v = map.remove(&k).unwrap_or_default();
            (k, v)
        })
        .collect()
}

/// "1 response" / "3 responses".
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A usable response: not replayed from the browser's cache, with a status.
pub fn fresh(r: &Record) -> bool {
    !r.from_browser_cache() && r.status.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::testkit::Rec;

    #[test]
    fn cookies_parse_from_redacted_lines() {
        let r = Rec::get("https://j/s/a.js")
            .req("Cookie", "AWSALB=<redacted:1a2b3c4d>; JSESSIONID=<redacted:00ff00ff>")
            .resp("Set-Cookie", "AWSALB=<redacted:9a9a9a9a>; Expires=Tue, 01 Dec 2026 10:00:00 GMT; Path=/\nJSESSIONID=<redacted:12121212>; Path=/; HttpOnly")
            .record(None);
        assert_eq!(
            request_cookies(&r),
            vec![
                ("AWSALB".to_string(), "<redacted:1a2b3c4d>".to_string()),
                ("JSESSIONID".to_string(), "<redacted:00ff00ff>".to_string())
            ]
        );
        let sc = set_cookies(&r);
        assert_eq!(sc.len(), 2);
        assert_eq!(sc[0].name, "AWSALB");
        assert_eq!(sc[0].value, "<redacted:9a9a9a9a>");
        assert!(
            sc[0]
                .line
                .starts_with("Set-Cookie: AWSALB=<redacted:9a9a9a9a>; Expires=")
        );
        assert!(is_authenticated(&r));
    }

    #[test]
    fn cookie_kinds() {
        assert!(is_stickiness_cookie("AWSALB") && is_stickiness_cookie("AWSALBCORS"));
        assert!(!is_session_cookie("AWSALB"));
        for n in [
            "JSESSIONID",
            "seraph.rememberme.cookie",
            "crowd.token_key",
            "atlassian.xsrf.token",
        ] {
            assert!(is_session_cookie(n), "{n}");
        }
        assert!(!is_session_cookie("confluence.browse.space.cookie"));
    }
}

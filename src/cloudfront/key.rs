//! The cache key, and the selection of cookies / query strings / headers it is built from.
//!
//! The same selection functions decide what the edge forwards to the origin (with the behavior's
//! `ForwardPolicy`) and what goes into the key (with its `KeyPolicy`), so the two can never
//! disagree about what "cookies: all" means.
//!
//! Key layout (one line, stable, readable in evidence):
//! `[METHOD ]<path>[?<query>] | cookies: a=1; b=2 | headers: origin=https://x`
//! - the method appears only for OPTIONS (GET and HEAD share entries, as in CloudFront);
//! - query parameters keep the viewer's order and case (legacy CloudFront keys on order: `?a=1&b=2`
//!   and `?b=2&a=1` are two objects);
//! - cookies are sorted by name (CloudFront sorts cookies in natural order by name);
//! - header names are lower-cased and sorted; values verbatim. `Accept-Encoding` is not
//!   normalised into the key (the edge honours `Vary: Accept-Encoding` separately; no other
//!   `Vary` splits an object: one object per key).

use super::behavior::{Behavior, NameSet};
use crate::exchange::Headers;

/// The cache key for a request served by `behavior` (see the module docs for the layout).
pub fn cache_key(behavior: &Behavior, method: &str, url: &url::Url, request: &Headers) -> String {
    let mut key = String::new();
    if method.eq_ignore_ascii_case("OPTIONS") {
        key.push_str("OPTIONS ");
    }
    key.push_str(url.path());
    let query = select_query(&behavior.key.query, url);
    if !query.is_empty() {
        key.push('?');
        key.push_str(&query.join("&"));
    }
    let cookies = select_cookies(&behavior.key.cookies, request);
    if !cookies.is_empty() {
        key.push_str(" | cookies: ");
        key.push_str(&cookie_header(&cookies));
    }
    let mut headers = select_headers(&behavior.key.headers, request);
    headers.sort();
    if !headers.is_empty() {
        key.push_str(" | headers: ");
        let parts: Vec<String> = headers.iter().map(|(n, v)| format!("{n}={v}")).collect();
        key.push_str(&parts.join(", "));
    }
    key
}

/// The raw `name=value` query pairs of `url` that `set` selects, in the viewer's order.
pub(crate) fn select_query(set: &NameSet, url: &url::Url) -> Vec<String> {
    let Some(q) = url.query() else {
        return Vec::new();
    };
    q.split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let raw_name = pair.split_once('=').map_or(*pair, |(n, _)| n);
            let name: String = url::form_urlencoded::parse(raw_name.as_bytes())
                .next()
                .map(|(n, _)| n.into_owned())
                .unwrap_or_default();
            set.contains(&name)
        })
        .map(str::to_string)
        .collect()
}

/// The viewer's cookies (every `Cookie` header) that `set` selects, sorted by name.
pub(crate) fn select_cookies(set: &NameSet, request: &Headers) -> Vec<(String, String)> {
    if set.is_none() {
        return Vec::new();
    }
    let mut out: Vec<(String, String)> = request
        .cookies()
        .into_iter()
        .filter(|(name, _)| !name.is_empty() && set.contains(name))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The request headers the origin gets through `behavior` (`select_headers` of what it forwards,
/// plus, on a legacy behavior, the headers CloudFront forwards without keying on them).
pub(crate) fn forwarded_headers(behavior: &Behavior, request: &Headers) -> Vec<(String, String)> {
    let mut out = select_headers(&behavior.origin_forward.headers, request);
    if behavior.is_legacy() {
        let defaults = NameSet::Whitelist(
            super::behavior::LEGACY_FORWARDED_BY_DEFAULT
                .iter()
                .map(|h| h.to_string())
                .collect(),
        );
        for (n, v) in select_headers(&defaults, request) {
            if !out.iter().any(|(o, _)| *o == n) {
                out.push((n, v));
            }
        }
    }
    out
}

/// `a=1; b=2`, the form of a `Cookie` request header.
pub(crate) fn cookie_header(cookies: &[(String, String)]) -> String {
    cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The request headers `set` selects, as (lower-case name, value); repeated headers joined by `,`.
/// `Cookie` is never selected here: cookies go through `select_cookies`.
pub(crate) fn select_headers(set: &NameSet, request: &Headers) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in request.iter() {
        if name.eq_ignore_ascii_case("cookie") || !set.contains_header(name) {
            continue;
        }
        let lname = name.to_ascii_lowercase();
        match out.iter_mut().find(|(n, _)| *n == lname) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(value);
            }
            None => out.push((lname, value.to_string())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::{BehaviorSet, KeyPolicy};

    fn url(s: &str) -> url::Url {
        url::Url::parse(&format!("https://jira.example.com{s}")).unwrap()
    }

    fn h(pairs: &[(&str, &str)]) -> Headers {
        Headers::from_pairs(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn seed(i: usize) -> Behavior {
        BehaviorSet::seed_default().behaviors[i].clone()
    }

    #[test]
    fn cookies_all_put_every_cookie_in_the_key_sorted() {
        let b = seed(0); // /s/*: cookies all
        let k = cache_key(
            &b,
            "GET",
            &url("/s/a.js"),
            &h(&[("Cookie", "JSESSIONID=abc; AWSALB=x1")]),
        );
        assert_eq!(k, "/s/a.js | cookies: AWSALB=x1; JSESSIONID=abc");
    }

    #[test]
    fn rotating_awsalb_changes_the_key_when_cookies_all() {
        let b = seed(0);
        let k1 = cache_key(&b, "GET", &url("/s/a.js"), &h(&[("Cookie", "AWSALB=one")]));
        let k2 = cache_key(&b, "GET", &url("/s/a.js"), &h(&[("Cookie", "AWSALB=two")]));
        assert_ne!(k1, k2);
    }

    #[test]
    fn rotating_awsalb_does_not_change_the_key_when_cookies_none() {
        let b = seed(3); // /download/resources/*: cookies none
        let k1 = cache_key(
            &b,
            "GET",
            &url("/download/resources/x.png"),
            &h(&[("Cookie", "AWSALB=one")]),
        );
        let k2 = cache_key(
            &b,
            "GET",
            &url("/download/resources/x.png"),
            &h(&[("Cookie", "AWSALB=two")]),
        );
        assert_eq!(k1, k2);
        assert!(!k1.contains("AWSALB"));
    }

    #[test]
    fn cookie_whitelist_keeps_only_named_cookies() {
        let mut b = seed(0);
        b.key.cookies = NameSet::Whitelist(vec!["JSESSIONID".into()]);
        let k = cache_key(
            &b,
            "GET",
            &url("/s/a.js"),
            &h(&[("Cookie", "AWSALB=x; JSESSIONID=s")]),
        );
        assert_eq!(k, "/s/a.js | cookies: JSESSIONID=s");
    }

    #[test]
    fn query_whitelist_keys_only_on_pid_and_avatar_id() {
        let pa = seed(1);
        let k1 = cache_key(
            &pa,
            "GET",
            &url("/secure/projectavatar?size=small&pid=10000"),
            &Headers::new(),
        );
        let k2 = cache_key(
            &pa,
            "GET",
            &url("/secure/projectavatar?pid=10000&size=large"),
            &Headers::new(),
        );
        assert_eq!(k1, "/secure/projectavatar?pid=10000");
        assert_eq!(k1, k2);
        let va = seed(2);
        let k = cache_key(
            &va,
            "GET",
            &url("/secure/viewavatar?avatarId=10500&size=xsmall"),
            &Headers::new(),
        );
        assert_eq!(k, "/secure/viewavatar?avatarId=10500");
        // Forwarded: all of them.
        assert_eq!(
            select_query(
                &pa.origin_forward.query,
                &url("/secure/projectavatar?size=small&pid=1")
            )
            .len(),
            2
        );
    }

    #[test]
    fn query_all_keeps_viewer_order() {
        let b = seed(0);
        let a = cache_key(&b, "GET", &url("/s/a.js?b=2&a=1"), &Headers::new());
        let c = cache_key(&b, "GET", &url("/s/a.js?a=1&b=2"), &Headers::new());
        assert_eq!(a, "/s/a.js?b=2&a=1");
        assert_ne!(a, c);
        let none = seed(4);
        assert_eq!(
            cache_key(&none, "GET", &url("/robots.txt?x=1"), &Headers::new()),
            "/robots.txt"
        );
    }

    #[test]
    fn origin_header_in_key_when_whitelisted() {
        let b = seed(0);
        let k1 = cache_key(
            &b,
            "GET",
            &url("/s/f.woff"),
            &h(&[("Origin", "https://a.example")]),
        );
        let k2 = cache_key(
            &b,
            "GET",
            &url("/s/f.woff"),
            &h(&[("Origin", "https://b.example")]),
        );
        assert_eq!(k1, "/s/f.woff | headers: origin=https://a.example");
        assert_ne!(k1, k2);
        let mut nob = b.clone();
        nob.key = KeyPolicy::none();
        let k = cache_key(
            &nob,
            "GET",
            &url("/s/f.woff"),
            &h(&[("Origin", "https://a.example")]),
        );
        assert_eq!(k, "/s/f.woff");
    }

    #[test]
    fn legacy_behaviors_forward_origin_without_keying_on_it() {
        let mut b = seed(3); // /download/resources/*: Origin whitelisted
        b.key.headers = NameSet::None;
        b.origin_forward.headers = NameSet::None;
        let req = h(&[("Origin", "https://a.example"), ("Accept", "text/css")]);
        assert_eq!(
            cache_key(&b, "GET", &url("/download/resources/f.woff"), &req),
            "/download/resources/f.woff",
            "not in the key"
        );
        assert_eq!(
            forwarded_headers(&b, &req),
            [("origin".to_string(), "https://a.example".to_string())],
            "but sent to the origin; Accept is removed"
        );
        assert!(b.forwards_header("origin"));
        // With a cache policy only what the policies list reaches the origin.
        b.cache_policy = Some("CachingOptimized".into());
        assert!(forwarded_headers(&b, &req).is_empty());
        assert!(!b.forwards_header("Origin"));
    }

    #[test]
    fn get_and_head_share_a_key_options_does_not() {
        let b = seed(0);
        let u = url("/s/a.js");
        assert_eq!(
            cache_key(&b, "GET", &u, &Headers::new()),
            cache_key(&b, "HEAD", &u, &Headers::new())
        );
        assert_ne!(
            cache_key(&b, "GET", &u, &Headers::new()),
            cache_key(&b, "OPTIONS", &u, &Headers::new())
        );
    }

    #[test]
    fn garbage_cookie_headers_do_not_panic() {
        let b = seed(0);
        let k = cache_key(
            &b,
            "GET",
            &url("/s/a.js"),
            &h(&[("Cookie", ";;=;x;=y; ok=1")]),
        );
        assert!(k.contains("ok=1"));
    }
}

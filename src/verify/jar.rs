//! The browser's cookies, as a replay needs them: what the journey's browser would send now.
//!
//! Cookie-in-key bugs (a load balancer's rotating `AWSALB` in a behavior that forwards all cookies)
//! only reproduce if the repeat loads send the cookies a browser would and take the new values the
//! responses set. So each journey (one browser context, one cookie jar) gets a `Jar`, rebuilt from
//! the capture in time order — every `Cookie` the browser sent and every `Set-Cookie` it received —
//! and updated from each repeat load's `Set-Cookie`, as a browser would.
//!
//! Simplifications, all on the side of sending what the browser sent: a cookie known only from a
//! `Cookie` header (no attributes) is sent again only for requests whose own captured `Cookie`
//! header carried it; cookies from `Set-Cookie` follow host/domain, path, `Secure` (loopback
//! counts as secure, as in Chromium) and `SameSite` (only `None` on cross-site requests, read from
//! the captured `Sec-Fetch-Site`). Ports do not isolate cookies (RFC 6265).
//!
//! Values live in memory only; nothing here is serialized.

use std::time::{SystemTime, UNIX_EPOCH};

use cookie::SameSite;

#[derive(Debug, Clone, PartialEq)]
struct Stored {
    name: String,
    /// `None`: deleted by a `Set-Cookie` (expired or `Max-Age=0`).
    value: Option<String>,
    /// Host (host-only) or domain (without the leading dot), lower case.
    domain: String,
    host_only: bool,
    /// `None`: learned from a `Cookie` header only (attributes unknown).
    path: Option<String>,
    secure: bool,
    same_site: Option<SameSite>,
    /// Seen in a `Cookie` header of a cross-site request: the browser sends it cross-site.
    cross_site_seen: bool,
    /// Unix seconds.
    expires: Option<i64>,
}

/// One browser context's cookies.
#[derive(Debug, Clone, Default)]
pub struct Jar {
    cookies: Vec<Stored>,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn host_of(url: &url::Url) -> String {
    url.host_str().unwrap_or_default().to_ascii_lowercase()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.starts_with("127.")
        || host == "[::1]"
        || host == "::1"
}

fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain
        || (host.ends_with(domain)
            && host.as_bytes().get(host.len() - domain.len() - 1) == Some(&b'.'))
}

/// RFC 6265 §5.1.4 path-match.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// RFC 6265 §5.1.4 default-path.
fn default_path(url: &url::Url) -> String {
    let p = url.path();
    match p.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => p[..i].to_string(),
    }
}

impl Jar {
    pub fn new() -> Self {
        Self::default()
    }

    fn find_mut(&mut self, name: &str, domain: &str, path: Option<&str>) -> Option<&mut Stored> {
        self.cookies
            .iter_mut()
            .find(|c| c.name == name && c.domain == domain && c.path.as_deref() == path)
    }

    /// What the browser sent on a request to `url`: learn the values (and that cross-site requests
    /// carry them, if this one was cross-site).
    pub(crate) fn observe_request(
        &mut self,
        url: &url::Url,
        cookie_header: Option<&str>,
        cross_site: bool,
    ) {
        let Some(h) = cookie_header else { return };
        let host = host_of(url);
        for (name, value) in crate::exchange::cookie_pairs(h) {
            // A cookie with known attributes that applies here gets the value the browser sent.
            let known = self.cookies.iter_mut().find(|c| {
                c.name == name
                    && c.path.is_some()
                    && (if c.host_only {
                        c.domain == host
                    } else {
                        domain_matches(&host, &c.domain)
                    })
                    && path_matches(url.path(), c.path.as_deref().unwrap_or("/"))
            });
            match known {
                Some(c) => {
                    c.value = Some(value);
                    c.cross_site_seen |= cross_site;
                }
                None => match self.find_mut(&name, &host, None) {
                    Some(c) => {
                        c.value = Some(value);
                        c.cross_site_seen |= cross_site;
                    }
                    None => self.cookies.push(Stored {
                        name,
                        value: Some(value),
                        domain: host.clone(),
                        host_only: true,
                        path: None,
                        secure: false,
                        same_site: None,
                        cross_site_seen: cross_site,
                        expires: None,
                    }),
                },
            }
        }
    }

    /// A response to `url` set these cookies (`Set-Cookie` lines): store, update or delete.
    pub(crate) fn observe_response<'a>(
        &mut self,
        url: &url::Url,
        set_cookies: impl IntoIterator<Item = &'a str>,
    ) {
        let host = host_of(url);
        let now = now_secs();
        for line in set_cookies {
            let Some(c) = crate::exchange::parse_set_cookie(line) else {
                continue;
            };
            let (domain, host_only) = match c.domain() {
                Some(d) => {
                    let d = d.trim_start_matches('.').to_ascii_lowercase();
                    if !domain_matches(&host, &d) {
                        continue; // a browser rejects a cookie for another domain
                    }
                    (d, false)
                }
                None => (host.clone(), true),
            };
            let path = c
                .path()
                .filter(|p| p.starts_with('/'))
                .map(str::to_string)
                .unwrap_or_else(|| default_path(url));
            let expires = match c.max_age() {
                Some(ma) => Some(now + ma.whole_seconds()),
                None => c.expires_datetime().map(|dt| dt.unix_timestamp()),
            };
            let deleted = expires.is_some_and(|e| e <= now);
            let stored = Stored {
                name: c.name().to_string(),
                value: (!deleted).then(|| c.value().to_string()),
                domain,
                host_only,
                path: Some(path.clone()),
                secure: c.secure().unwrap_or(false),
                same_site: c.same_site(),
                cross_site_seen: false,
                expires,
            };
            // A cookie learned from a Cookie header under this name/host is this one.
            self.cookies
                .retain(|x| !(x.name == stored.name && x.path.is_none() && x.domain == host));
            match self.find_mut(&stored.name, &stored.domain, Some(&path)) {
                Some(x) => {
                    let cross = x.cross_site_seen;
                    *x = stored;
                    x.cross_site_seen = cross;
                }
                None => self.cookies.push(stored),
            }
        }
    }

    fn applies(&self, c: &Stored, url: &url::Url, cross_site: bool, now: i64) -> bool {
        let host = host_of(url);
        let host_ok = if c.host_only {
            c.domain == host
        } else {
            domain_matches(&host, &c.domain)
        };
        let Some(path) = &c.path else { return false };
        host_ok
            && c.value.is_some()
            && path_matches(url.path(), path)
            && c.expires.is_none_or(|e| e > now)
            && (!c.secure || url.scheme() == "https" || is_loopback(&host))
            && (!cross_site || c.same_site == Some(SameSite::None) || c.cross_site_seen)
    }

    /// The `Cookie` header a browser would send to `url` now. `template` is the header the browser
    /// sent for this URL in the capture: its cookies keep their order and take their current
    /// values; cookies set since (that apply) are appended; deleted ones are dropped.
    pub(crate) fn header_for(
        &self,
        url: &url::Url,
        template: Option<&str>,
        cross_site: bool,
    ) -> Option<String> {
        let now = now_secs();
        let host = host_of(url);
        let mut out: Vec<(String, String)> = Vec::new();
        for (name, value) in template.into_iter().flat_map(crate::exchange::cookie_pairs) {
            // The current value: an applicable cookie with attributes, else one learned from
            // Cookie headers on this host, else what the browser sent.
            let with_attrs = self
                .cookies
                .iter()
                .filter(|c| c.name == name && c.path.is_some())
                .filter(|c| {
                    (if c.host_only {
                        c.domain == host
                    } else {
                        domain_matches(&host, &c.domain)
                    }) && path_matches(url.path(), c.path.as_deref().unwrap_or("/"))
                })
                .max_by_key(|c| c.path.as_ref().map(|p| p.len()).unwrap_or(0));
            let current = match with_attrs {
                Some(c) => c.value.clone(), // None: deleted since
                None => self
                    .cookies
                    .iter()
                    .find(|c| c.name == name && c.path.is_none() && c.domain == host)
                    .and_then(|c| c.value.clone())
                    .or(Some(value)),
            };
            if let Some(v) = current
                && !out.iter().any(|(n, _)| *n == name)
            {
                out.push((name, v));
            }
        }
        // Cookies set since that apply: longer paths first (as browsers order them).
        let mut extra: Vec<&Stored> = self
            .cookies
            .iter()
            .filter(|c| self.applies(c, url, cross_site, now))
            .filter(|c| !out.iter().any(|(n, _)| *n == c.name))
            .collect();
        extra.sort_by_key(|c| std::cmp::Reverse(c.path.as_ref().map(|p| p.len()).unwrap_or(0)));
        for c in extra {
            if !out.iter().any(|(n, _)| *n == c.name) {
                out.push((c.name.clone(), c.value.clone().unwrap_or_default()));
            }
        }
        if out.is_empty() {
            return None;
        }
        Some(
            out.iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    /// Every live cookie as `Storage.setCookies` parameters, to give a fresh browser context the
    /// journey's cookies (browser mode). `scheme` and `port` of a host come from `origins`.
    pub(crate) fn cdp_cookies(&self, origins: &[url::Url]) -> Vec<serde_json::Value> {
        let now = now_secs();
        let mut out = Vec::new();
        for c in &self.cookies {
            let Some(value) = &c.value else { continue };
            if c.expires.is_some_and(|e| e <= now) {
                continue;
            }
            let origin = origins.iter().find(|o| host_of(o) == c.domain).or_else(|| {
                origins
                    .iter()
                    .find(|o| domain_matches(&host_of(o), &c.domain))
            });
            let Some(origin) = origin else { continue };
            let mut v = serde_json::json!({
                "name": c.name,
                "value": value,
                "path": c.path.clone().unwrap_or_else(|| "/".into()),
                "secure": c.secure,
            });
            if c.host_only {
                v["url"] = format!("{}://{}/", origin.scheme(), c.domain).into();
            } else {
                v["domain"] = format!(".{}", c.domain).into();
            }
            let same_site = match c.same_site {
                Some(SameSite::None) => Some("None"),
                Some(SameSite::Strict) => Some("Strict"),
                Some(SameSite::Lax) => Some("Lax"),
                None if c.cross_site_seen => Some("None"),
                None => None,
            };
            if let Some(s) = same_site {
                v["sameSite"] = s.into();
                if s == "None" {
                    v["secure"] = true.into();
                }
            }
            if let Some(e) = c.expires {
                v["expires"] = e.into();
            }
            out.push(v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn rotating_stickiness_cookie_is_replaced_in_the_template() {
        let mut jar = Jar::new();
        let js = u("http://jira.example.com/s/abc/_/download/batch.js?locale=en");
        jar.observe_request(&js, Some("JSESSIONID=s1; AWSALB=a1"), false);
        jar.observe_response(
            &js,
            ["AWSALB=a2; Expires=Wed, 01 Jan 2200 00:00:00 GMT; Path=/"],
        );
        assert_eq!(
            jar.header_for(&js, Some("JSESSIONID=s1; AWSALB=a1"), false)
                .unwrap(),
            "JSESSIONID=s1; AWSALB=a2"
        );
        jar.observe_response(&js, ["AWSALB=a3; Path=/"]);
        assert_eq!(
            jar.header_for(&js, Some("JSESSIONID=s1; AWSALB=a1"), false)
                .unwrap(),
            "JSESSIONID=s1; AWSALB=a3"
        );
    }

    #[test]
    fn cookies_set_later_are_added_and_deleted_ones_dropped() {
        let mut jar = Jar::new();
        let login = u("http://j.example.com/login.jsp");
        jar.observe_request(&login, Some("JSESSIONID=anon"), false);
        jar.observe_response(
            &login,
            [
                "JSESSIONID=auth; Path=/; HttpOnly",
                "seraph.rememberme.cookie=r1; Path=/",
                "atlassian.xsrf.token=t1; Path=/",
                "old=1; Path=/; Max-Age=0",
                "scoped=1; Path=/rest",
            ],
        );
        let css = u("http://j.example.com/s/x/batch.css");
        let h = jar
            .header_for(&css, Some("JSESSIONID=anon; old=0"), false)
            .unwrap();
        assert!(h.starts_with("JSESSIONID=auth"), "{h}");
        assert!(h.contains("seraph.rememberme.cookie=r1"), "{h}");
        assert!(!h.contains("old="), "deleted: {h}");
        assert!(
            !h.contains("scoped"),
            "path /rest does not apply to /s/: {h}"
        );
        let rest = u("http://j.example.com/rest/api/2/myself");
        assert!(
            jar.header_for(&rest, None, false)
                .unwrap()
                .contains("scoped=1")
        );
        // Another host gets nothing.
        assert_eq!(
            jar.header_for(&u("http://other.example.com/"), None, false),
            None
        );
    }

    #[test]
    fn same_site_and_secure_rules() {
        let mut jar = Jar::new();
        let cdn = u("http://localhost:9000/s/x.woff");
        jar.observe_response(
            &cdn,
            [
                "AWSALB=v; Path=/",
                "AWSALBCORS=v; Path=/; SameSite=None; Secure",
            ],
        );
        // Cross-site: only SameSite=None (Secure is fine on loopback).
        assert_eq!(jar.header_for(&cdn, None, true).unwrap(), "AWSALBCORS=v");
        let both = jar.header_for(&cdn, None, false).unwrap();
        assert!(
            both.contains("AWSALB=v") && both.contains("AWSALBCORS=v"),
            "{both}"
        );
        // Secure cookies are not sent over plain http to a non-loopback host.
        let mut jar = Jar::new();
        let plain = u("http://jira.example.com/s/a.js");
        jar.observe_response(&plain, ["s=1; Path=/; Secure"]);
        assert_eq!(jar.header_for(&plain, None, false), None);
    }

    #[test]
    fn domain_cookies_and_ports() {
        let mut jar = Jar::new();
        jar.observe_response(
            &u("https://jira.example.com/"),
            ["d=1; Domain=.example.com; Path=/"],
        );
        assert_eq!(
            jar.header_for(&u("https://cdn.example.com/s/a.js"), None, false)
                .unwrap(),
            "d=1"
        );
        // A cookie for a foreign domain is rejected.
        jar.observe_response(&u("https://jira.example.com/"), ["x=1; Domain=evil.com"]);
        assert!(
            !jar.header_for(&u("https://evil.com/"), None, false)
                .is_some_and(|h| h.contains("x=1"))
        );
        // Ports do not isolate cookies.
        let mut jar = Jar::new();
        jar.observe_response(&u("http://127.0.0.1:8000/"), ["p=1; Path=/"]);
        assert_eq!(
            jar.header_for(&u("http://127.0.0.1:8001/a"), None, false)
                .unwrap(),
            "p=1"
        );
    }

    #[test]
    fn cdp_cookies_for_a_fresh_context() {
        let mut jar = Jar::new();
        let page = u("http://127.0.0.1:8000/secure/Dashboard.jspa");
        jar.observe_request(&page, Some("JSESSIONID=s1"), false);
        jar.observe_response(&page, ["AWSALBCORS=v; Path=/; SameSite=None; Secure"]);
        let v = jar.cdp_cookies(&[u("http://127.0.0.1:8000/")]);
        assert_eq!(v.len(), 2);
        let s = v.iter().find(|c| c["name"] == "JSESSIONID").unwrap();
        assert_eq!(s["url"], "http://127.0.0.1/");
        assert_eq!(s["value"], "s1");
        let a = v.iter().find(|c| c["name"] == "AWSALBCORS").unwrap();
        assert_eq!(a["sameSite"], "None");
        assert_eq!(a["secure"], true);
    }
}

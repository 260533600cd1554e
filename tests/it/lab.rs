//! The embedded lab over HTTP (no browser): login, access control, the resources pages reference,
//! and each fault's visible effect through the edge. Every lab runs on ephemeral loopback ports.

use cdnprobe::lab::{self, Fault, Lab, LabOptions, Product, Topology};
use reqwest::header::HeaderMap;
use url::Url;

fn client(cookies: bool) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .no_proxy()
        .build()
        .unwrap()
}

async fn start(opts: LabOptions) -> Lab {
    lab::start(opts).await.expect("lab starts")
}

async fn start_with(faults: &[Fault]) -> Lab {
    start(LabOptions {
        faults: faults.to_vec(),
        ..LabOptions::default()
    })
    .await
}

/// `base` (with context path) + `path`.
fn at(base: &Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn x_cache(h: &HeaderMap) -> String {
    header(h, "x-cache").unwrap_or("(none)").to_string()
}

/// Log in through the product's login form; returns the login response.
async fn login(
    c: &reqwest::Client,
    base: &Url,
    product: Product,
    user: &lab::LabUser,
) -> reqwest::Response {
    let action = match product {
        Product::Jira => "/login.jsp",
        Product::Confluence => "/dologin.action",
    };
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("os_username", &user.username)
        .append_pair("os_password", &user.password)
        .append_pair("os_destination", "")
        .append_pair("login", "Log In")
        .finish();
    c.post(at(base, action))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
}

async fn get(c: &reqwest::Client, url: &str) -> (reqwest::StatusCode, HeaderMap, Vec<u8>) {
    let r = c
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    (status, headers, body)
}

async fn get_text(c: &reqwest::Client, url: &str) -> (reqwest::StatusCode, HeaderMap, String) {
    let (s, h, b) = get(c, url).await;
    (s, h, String::from_utf8_lossy(&b).into_owned())
}

/// Every `src="..."` and `href="..."` in a page, entities decoded.
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            let after = &rest[i + attr.len()..];
            let end = after.find('"').unwrap_or(after.len());
            out.push(after[..end].replace("&amp;", "&"));
            rest = &after[end..];
        }
    }
    out
}

/// Resolve a page reference against the page URL.
fn resolve(page: &str, reference: &str) -> String {
    Url::parse(page)
        .unwrap()
        .join(reference)
        .unwrap()
        .to_string()
}

/// `url(...)` references in a stylesheet.
fn css_urls(css: &str) -> Vec<String> {
    css.split("url(")
        .skip(1)
        .map(|s| {
            s.split(')')
                .next()
                .unwrap()
                .trim_matches(|c| c == '"' || c == '\'')
                .to_string()
        })
        .collect()
}

fn superbatch_js(html: &str) -> String {
    references(html)
        .into_iter()
        .find(|r| r.contains("/_/download/superbatch/js/batch.js"))
        .expect("page references the superbatch js")
}

/// A logged-in client and the Jira dashboard's URL and HTML.
async fn jira_dashboard(lab: &Lab, user: usize) -> (reqwest::Client, String, String) {
    let c = client(true);
    let base = lab.jira_url();
    let r = login(&c, &base, Product::Jira, &lab.credentials()[user]).await;
    assert_eq!(r.status(), 302);
    let page = at(&base, "/secure/Dashboard.jspa");
    let (s, _, html) = get_text(&c, &page).await;
    assert_eq!(s, 200);
    (c, page, html)
}

#[tokio::test]
async fn login_sets_jsessionid_and_lands_on_the_dashboard() {
    let lab = start(LabOptions {
        context_path: Some("auto".into()),
        ..LabOptions::default()
    })
    .await;
    assert!(lab.jira_url().as_str().ends_with("/jira"));
    for product in Product::ALL {
        let base = lab.url(product);
        let c = client(true);
        let r = login(&c, &base, product, &lab.credentials()[0]).await;
        assert_eq!(r.status(), 302, "{product}");
        let cookies: Vec<&str> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        let session = cookies
            .iter()
            .find(|c| c.starts_with("JSESSIONID="))
            .unwrap_or_else(|| panic!("{product}: JSESSIONID in {cookies:?}"));
        assert!(session.contains("HttpOnly"), "{session}");
        assert!(
            session.contains(&format!("Path=/{}", product.name())),
            "{session}"
        );
        if product == Product::Jira {
            assert!(
                cookies
                    .iter()
                    .any(|c| c.starts_with("atlassian.xsrf.token="))
            );
        }
        let location = header(r.headers(), "location").unwrap().to_string();
        let dashboard = match product {
            Product::Jira => "/jira/secure/Dashboard.jspa",
            Product::Confluence => "/confluence/dashboard.action",
        };
        assert_eq!(location, dashboard);
        let (s, h, html) = get_text(&c, &resolve(base.as_str(), &location)).await;
        assert_eq!(s, 200, "{product}");
        assert!(html.contains("Alice Example"), "{product}: names the user");
        assert_eq!(header(&h, "x-ausername"), Some("alice"));
        if product == Product::Jira {
            assert!(html.contains("System Dashboard"));
        }
        assert_eq!(
            header(&h, "cache-control"),
            Some("no-cache, no-store, must-revalidate")
        );
        assert!(
            header(&h, "x-cache").unwrap().contains("cloudfront"),
            "through the edge"
        );
    }
    lab.shutdown().await;
}

#[tokio::test]
async fn wrong_password_re_renders_the_form_with_the_error() {
    let lab = start_with(&[]).await;
    for product in Product::ALL {
        let c = client(true);
        let mut user = lab.credentials()[0].clone();
        user.password = "nope".into();
        let r = login(&c, &lab.url(product), product, &user).await;
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()
                .get_all("set-cookie")
                .iter()
                .all(|v| !v.to_str().unwrap().starts_with("JSESSIONID="))
        );
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Sorry, your username and password are incorrect"),
            "{product}"
        );
    }
}

#[tokio::test]
async fn anonymous_access_to_protected_pages_redirects_to_login() {
    let lab = start_with(&[]).await;
    let c = client(true);
    let (s, h, _) = get(&c, &at(&lab.jira_url(), "/secure/Dashboard.jspa")).await;
    assert_eq!(s, 302);
    assert_eq!(
        header(&h, "location"),
        Some("/login.jsp?os_destination=%2Fsecure%2FDashboard.jspa")
    );
    let (s, h, _) = get(&c, &at(&lab.confluence_url(), "/display/LAB/Lab+Home")).await;
    assert_eq!(s, 302);
    assert!(
        header(&h, "location")
            .unwrap()
            .starts_with("/login.action?os_destination=%2Fdisplay%2FLAB%2FLab%2BHome")
    );
    let (s, _, body) = get_text(&c, &at(&lab.jira_url(), "/rest/api/2/myself")).await;
    assert_eq!(s, 401);
    assert!(body.contains("not authenticated"));
    // Public pieces stay public.
    for p in [
        "/login.jsp",
        "/status",
        "/robots.txt",
        "/favicon.ico",
        "/rest/static-asset-caching/health-checks",
    ] {
        let (s, _, _) = get(&c, &at(&lab.jira_url(), p)).await;
        assert_eq!(s, 200, "{p}");
    }
}

#[tokio::test]
async fn jira_pages_reference_what_the_real_ones_pull() {
    let lab = start_with(&[]).await;
    let (c, _, _) = jira_dashboard(&lab, 0).await;
    let base = lab.jira_url();
    let pages = [
        "/secure/Dashboard.jspa",
        "/browse/LAB-1",
        "/issues/?jql=project%20%3D%20LAB",
        "/projects/LAB/summary",
    ];
    let mut all = Vec::new();
    for p in pages {
        let url = at(&base, p);
        let (s, _, html) = get_text(&c, &url).await;
        assert_eq!(s, 200, "{p}");
        for r in references(&html) {
            all.push((p, resolve(&url, &r)));
        }
    }
    let has = |needle: &str| all.iter().any(|(_, u)| u.contains(needle));
    for needle in [
        "/_/download/superbatch/js/batch.js?locale=en-US",
        "/_/download/superbatch/css/batch.css?locale=en-US",
        "/_/download/contextbatch/js/jira.view.issue,atl.general,jira.global/batch.js?locale=en-US",
        "/_/download/batch/com.atlassian.jira.jira-quick-edit-plugin:quick-create-issue/com.atlassian.jira.jira-quick-edit-plugin:quick-create-issue.js",
        "/secure/projectavatar?pid=10000&avatarId=10011&size=small",
        "/secure/viewavatar?size=xsmall&avatarId=10122&avatarType=user",
        "/download/resources/com.atlassian.jira.lookandfeel:jira-logo/jira-logo.png",
        "/favicon.ico",
    ] {
        assert!(has(needle), "no page references {needle}");
    }
    let s_prefix = "/s/3b8c2d7e9f1a4c6b8d0e2f4a6c8e0b1d-CDN/en_US/940007/";
    assert!(has(s_prefix));
    // Every static reference answers with a real body of the right type.
    let mut css = None;
    for (page, u) in all.iter().filter(|(_, u)| {
        u.contains("/s/")
            || u.contains("/download/resources/")
            || u.contains("avatar")
            || u.ends_with("favicon.ico")
    }) {
        let (s, h, body) = get(&c, u).await;
        assert_eq!(s, 200, "{u} (from {page})");
        let ct = header(&h, "content-type").unwrap_or("");
        if u.contains(".js?") {
            assert!(ct.starts_with("application/javascript"), "{u}: {ct}");
            assert!(!body.is_empty());
        } else if u.contains(".css?") {
            assert!(ct.starts_with("text/css"), "{u}: {ct}");
            if u.contains("superbatch") {
                css = Some((u.clone(), String::from_utf8(body).unwrap()));
            }
        } else if u.contains("avatar") || u.ends_with(".png") {
            assert_eq!(ct, "image/png", "{u}");
            assert_eq!(&body[..8], b"\x89PNG\r\n\x1a\n", "{u}");
        } else if u.ends_with("favicon.ico") {
            assert_eq!(ct, "image/x-icon");
            assert_eq!(&body[..4], &[0, 0, 1, 0]);
        }
    }
    // The stylesheet's @font-face URLs (relative and absolute) resolve to the three fonts.
    let (css_url, css) = css.expect("superbatch css fetched");
    let fonts: Vec<String> = css_urls(&css)
        .iter()
        .map(|f| resolve(&css_url, f))
        .collect();
    assert_eq!(fonts.len(), 3, "{fonts:?}");
    for (f, mime) in fonts.iter().zip(["font/woff2", "font/woff", "font/ttf"]) {
        assert!(
            f.contains("/_/download/resources/com.atlassian.auiplugin:aui-fonts/adgs-icons."),
            "{f}"
        );
        let (s, h, _) = get(&c, f).await;
        assert_eq!(s, 200, "{f}");
        assert_eq!(header(&h, "content-type"), Some(mime));
    }
    // The REST calls the page scripts make answer for a logged-in user.
    for p in [
        "/rest/api/2/myself",
        "/rest/api/2/search?jql=project%20%3D%20LAB",
        "/rest/api/2/issue/LAB-1/comment",
        "/rest/api/2/project/LAB",
    ] {
        let (s, h, body) = get_text(&c, &at(&base, p)).await;
        assert_eq!(s, 200, "{p}");
        assert!(
            header(&h, "content-type")
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(
            header(&h, "expires"),
            header(&h, "date"),
            "REST: Expires = Date"
        );
        assert!(header(&h, "x-arequestid").is_some());
        serde_json::from_str::<serde_json::Value>(&body).unwrap();
    }
    let r = c
        .post(at(
            &base,
            "/secure/QuickCreateIssue!default.jspa?decorator=none",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("id=\\\"summary\\\""));
}

#[tokio::test]
async fn confluence_pages_reference_what_the_real_ones_pull() {
    let lab = start_with(&[]).await;
    let base = lab.confluence_url();
    let c = client(true);
    assert_eq!(
        login(&c, &base, Product::Confluence, &lab.credentials()[1])
            .await
            .status(),
        302
    );
    let mut all = Vec::new();
    for p in [
        "/dashboard.action",
        "/display/LAB/Lab+Home",
        "/pages/editpage.action?pageId=65538",
        "/dosearchsite.action?queryString=cdn",
        "/display/LAB/2026/11/24/Lab+News",
    ] {
        let url = at(&base, p);
        let (s, _, html) = get_text(&c, &url).await;
        assert_eq!(s, 200, "{p}");
        assert!(html.contains("Bob Example"), "{p} names the user");
        for r in references(&html) {
            all.push(resolve(&url, &r));
        }
    }
    for needle in [
        "/_/download/superbatch/js/batch.js?locale=en-US",
        "/_/download/superbatch/css/batch.css?locale=en-US",
        "/synchrony-proxy/resources/js/synchrony.min.js",
        "/download/resources/",
        "/images/icons/profilepics/default.svg",
        "/favicon.ico",
    ] {
        assert!(
            all.iter().any(|u| u.contains(needle)),
            "no page references {needle}"
        );
    }
    let sync = all.iter().find(|u| u.contains("synchrony.min.js")).unwrap();
    let (s, h, _) = get(&c, sync).await;
    assert_eq!(s, 200);
    assert!(
        header(&h, "content-type")
            .unwrap()
            .starts_with("application/javascript")
    );
    for p in [
        "/rest/api/user/current",
        "/rest/api/content/65538?expand=body.storage,version",
        "/rest/api/search?cql=siteSearch%20~%20%22cdn%22",
        "/synchrony/heartbeat",
    ] {
        let (s, _, _) = get(&c, &at(&base, p)).await;
        assert_eq!(s, 200, "{p}");
    }
}

#[tokio::test]
async fn a_static_resource_goes_miss_then_hit_through_the_edge() {
    let lab = start_with(&[]).await;
    let (c, page, html) = jira_dashboard(&lab, 0).await;
    let js = resolve(&page, &superbatch_js(&html));
    let (s, h1, _) = get(&c, &js).await;
    assert_eq!(s, 200);
    assert_eq!(
        header(&h1, "cache-control"),
        Some("max-age=31536000, public")
    );
    assert!(header(&h1, "last-modified").is_some());
    assert_eq!(x_cache(&h1), "Miss from cloudfront");
    let (_, h2, _) = get(&c, &js).await;
    assert_eq!(x_cache(&h2), "Hit from cloudfront");
    // The dashboard itself is never cached by the seed's default behavior.
    let (_, h3, _) = get(&c, &page).await;
    assert_eq!(x_cache(&h3), "Miss from cloudfront");
}

/// Three loads of the superbatch with a browser-like cookie jar; returns the X-Cache values.
async fn three_loads(lab: &Lab) -> (Vec<String>, HeaderMap) {
    let (c, page, html) = jira_dashboard(lab, 0).await;
    let js = resolve(&page, &superbatch_js(&html));
    let mut seen = Vec::new();
    let mut last = HeaderMap::new();
    for _ in 0..3 {
        let (s, h, _) = get(&c, &js).await;
        assert_eq!(s, 200);
        seen.push(x_cache(&h));
        last = h;
    }
    (seen, last)
}

#[tokio::test]
async fn alb_stickiness_never_hits() {
    let lab = start_with(&[Fault::AlbStickiness]).await;
    let (seen, h) = three_loads(&lab).await;
    assert!(seen.iter().all(|x| x == "Miss from cloudfront"), "{seen:?}");
    let cookies: Vec<&str> = h
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("AWSALB=") && c.contains("Path=/")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("AWSALBCORS=") && c.contains("SameSite=None; Secure"))
    );
}

#[tokio::test]
async fn expires_now_never_hits() {
    let lab = start_with(&[Fault::ExpiresNow]).await;
    let (seen, h) = three_loads(&lab).await;
    assert!(seen.iter().all(|x| x == "Miss from cloudfront"), "{seen:?}");
    assert_eq!(header(&h, "expires"), header(&h, "date"));
    assert!(
        !header(&h, "cache-control")
            .unwrap_or("")
            .contains("max-age")
    );
}

#[tokio::test]
async fn no_cache_static_never_hits() {
    let lab = start_with(&[Fault::NoCacheStatic]).await;
    let (seen, h) = three_loads(&lab).await;
    assert!(seen.iter().all(|x| x == "Miss from cloudfront"), "{seen:?}");
    assert_eq!(header(&h, "cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn query_buster_gives_every_page_view_new_static_urls() {
    let lab = start_with(&[Fault::QueryBuster]).await;
    let (c, page, html) = jira_dashboard(&lab, 0).await;
    let first = superbatch_js(&html);
    assert!(first.contains("?locale=en-US&_="), "{first}");
    let (_, _, html2) = get_text(&c, &page).await;
    let second = superbatch_js(&html2);
    assert_ne!(first, second);
    for u in [&first, &second] {
        let (_, h, _) = get(&c, &resolve(&page, u)).await;
        assert_eq!(x_cache(&h), "Miss from cloudfront");
    }
}

#[tokio::test]
async fn private_cached_serves_user_a_dashboard_to_user_b() {
    let lab = start_with(&[Fault::PrivateCached]).await;
    let (_, _, html_a) = jira_dashboard(&lab, 0).await;
    assert!(html_a.contains("Alice Example"));
    let b = client(true);
    let base = lab.jira_url();
    assert_eq!(
        login(&b, &base, Product::Jira, &lab.credentials()[1])
            .await
            .status(),
        302
    );
    let (s, h, html_b) = get_text(&b, &at(&base, "/secure/Dashboard.jspa")).await;
    assert_eq!(s, 200);
    assert_eq!(x_cache(&h), "Hit from cloudfront");
    assert!(
        html_b.contains("Alice Example"),
        "Bob sees Alice's dashboard"
    );
    assert!(!html_b.contains("Bob Example"));
    assert_eq!(header(&h, "x-ausername"), Some("alice"));
    let default = lab
        .behaviors(Product::Jira)
        .behaviors
        .into_iter()
        .find(|b| b.is_default)
        .unwrap();
    assert!(default.ttl.min > 0);
}

#[tokio::test]
async fn private_cached_off_serves_each_user_their_own() {
    let lab = start_with(&[]).await;
    let (_, _, html_a) = jira_dashboard(&lab, 0).await;
    assert!(html_a.contains("Alice Example"));
    let (_, _, html_b) = jira_dashboard(&lab, 1).await;
    assert!(html_b.contains("Bob Example"));
    assert!(!html_b.contains("Alice Example"));
}

/// The AUI icon font's URL, as the browser finds it: through the superbatch CSS the page links.
async fn icon_font(c: &reqwest::Client, page: &str, html: &str) -> String {
    let css_ref = references(html)
        .into_iter()
        .find(|r| r.contains("superbatch/css/batch.css"))
        .unwrap();
    let css_url = resolve(page, &css_ref);
    let (_, _, css) = get_text(c, &css_url).await;
    css_urls(&css)
        .iter()
        .map(|f| resolve(&css_url, f))
        .find(|f| f.ends_with("adgs-icons.woff"))
        .unwrap()
}

#[tokio::test]
async fn font_502_is_an_edge_error_not_an_app_host_error() {
    let lab = start_with(&[Fault::Font502]).await;
    let (c, page, html) = jira_dashboard(&lab, 0).await;
    let woff = icon_font(&c, &page, &html).await;
    let (s, h, body) = get_text(&c, &woff).await;
    assert_eq!(s, 502, "{woff}");
    assert_eq!(x_cache(&h), "Error from cloudfront");
    assert!(!body.is_empty());
    // JS and CSS still come through; the app host itself still serves the font.
    let (s, _, _) = get(&c, &resolve(&page, &superbatch_js(&html))).await;
    assert_eq!(s, 200);
    let direct = woff.replace(
        lab.edge_url(Product::Jira).as_str().trim_end_matches('/'),
        lab.app_url(Product::Jira).as_str().trim_end_matches('/'),
    );
    assert_ne!(direct, woff);
    let (s, h, _) = get(&c, &direct).await;
    assert_eq!(s, 200);
    assert!(h.get("x-cache").is_none(), "direct: no edge");
}

#[tokio::test]
async fn a_fault_switched_on_after_caching_is_hidden_until_an_invalidation() {
    // CloudFront keeps what it cached when the origin's link breaks: the font stays a Hit until
    // it is invalidated (or expires); then the 502 shows.
    let lab = start_with(&[]).await;
    let (c, page, html) = jira_dashboard(&lab, 0).await;
    let woff = icon_font(&c, &page, &html).await;
    let (s, h, _) = get(&c, &woff).await;
    assert_eq!(
        (s.as_u16(), x_cache(&h)),
        (200, "Miss from cloudfront".into())
    );
    let report = lab.set_fault(Fault::Font502, true).await;
    assert!(
        report.notes.iter().any(|n| n.contains("edge caches kept")),
        "{report:?}"
    );
    let (s, h, _) = get(&c, &woff).await;
    assert_eq!(
        (s.as_u16(), x_cache(&h)),
        (200, "Hit from cloudfront".into())
    );
    assert!(lab.invalidate("/*/adgs-icons.woff").await.unwrap() >= 1);
    let (s, h, _) = get(&c, &woff).await;
    assert_eq!(
        (s.as_u16(), x_cache(&h)),
        (502, "Error from cloudfront".into())
    );
}

#[tokio::test]
async fn bypass_static_references_the_app_host() {
    let lab = start_with(&[Fault::BypassStatic]).await;
    let (c, page, html) = jira_dashboard(&lab, 0).await;
    let app = lab.app_url(Product::Jira);
    let app_origin = app.origin().ascii_serialization();
    let edge_origin = lab.jira_url().origin().ascii_serialization();
    assert_ne!(app_origin, edge_origin);
    let statics: Vec<String> = references(&html)
        .into_iter()
        .filter(|r| r.contains("/s/") || r.contains("/download/resources/"))
        .collect();
    assert!(statics.len() >= 5, "{statics:?}");
    for r in &statics {
        assert!(
            r.starts_with(&format!("{app_origin}/s/"))
                || r.starts_with(&format!("{app_origin}/download/")),
            "{r}"
        );
    }
    let (s, h, _) = get(&c, &resolve(&page, &superbatch_js(&html))).await;
    assert_eq!(s, 200);
    assert!(
        h.get("x-cache").is_none(),
        "served by the origin, not the edge"
    );
}

#[tokio::test]
async fn cdn_host_pages_reference_the_cdn_and_fonts_answer_cors_per_origin() {
    let lab = start(LabOptions {
        topology: Topology::CdnHost,
        context_path: Some("/jira".into()),
        ..LabOptions::default()
    })
    .await;
    let cdn = lab.cdn_url(Product::Jira).expect("cdn-host has a CDN URL");
    assert_eq!(cdn.host_str(), Some("localhost"));
    let app = lab.jira_url();
    assert_eq!(app.host_str(), Some("127.0.0.1"));
    let (c, page, html) = jira_dashboard(&lab, 0).await;
    let cdn_origin = cdn.origin().ascii_serialization();
    let statics: Vec<String> = references(&html)
        .into_iter()
        .filter(|r| r.contains("/s/") || r.contains("/download/resources/"))
        .collect();
    assert!(!statics.is_empty());
    for r in &statics {
        assert!(r.starts_with(&format!("{cdn_origin}/jira/")), "{r}");
    }
    // Pages, REST and avatars stay on the app host.
    assert!(
        references(&html)
            .iter()
            .any(|r| r.starts_with("/jira/secure/viewavatar"))
    );
    let (_, h, _) = get(&c, &page).await;
    assert!(
        h.get("x-cache").is_none(),
        "the page comes from the app host"
    );

    let woff = format!(
        "{cdn_origin}/jira{}/resources/com.atlassian.auiplugin:aui-fonts/adgs-icons.woff",
        "/s/3b8c2d7e9f1a4c6b8d0e2f4a6c8e0b1d-CDN/en_US/940007/2f5a8c1e3b7d9f0a4c6e8b2d1f3a5c7e/9.12.14/_/download"
    );
    let page_origin = app.origin().ascii_serialization();
    let plain = client(false);
    let r = plain
        .get(&woff)
        .header("Origin", &page_origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(r.headers(), "access-control-allow-origin"),
        Some(page_origin.as_str())
    );
    assert!(header(r.headers(), "vary").unwrap_or("").contains("Origin"));
    assert_eq!(x_cache(r.headers()), "Miss from cloudfront");
    let r = plain
        .get(&woff)
        .header("Origin", &page_origin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        x_cache(r.headers()),
        "Hit from cloudfront",
        "cached per Origin"
    );
    assert_eq!(
        header(r.headers(), "access-control-allow-origin"),
        Some(page_origin.as_str())
    );
    let r = plain.get(&woff).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("access-control-allow-origin").is_none(),
        "no Origin, no CORS"
    );

    // cors-missing: the font behavior stops forwarding Origin, so the origin never answers CORS.
    let report = lab.set_fault(Fault::CorsMissing, true).await;
    assert!(report.changed, "{report:?}");
    let r = plain
        .get(&woff)
        .header("Origin", &page_origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cors_missing_switches_to_the_cdn_host_topology_and_says_so() {
    let lab = start_with(&[Fault::CorsMissing]).await;
    assert_eq!(lab.topology(), Topology::CdnHost);
    assert!(lab.describe().contains("switched to the cdn-host topology"));
    let b = lab.behaviors(Product::Jira);
    assert!(
        !b.behaviors[0].key.headers.contains_header("Origin"),
        "the /s/* behavior lost Origin"
    );
}

#[tokio::test]
async fn cors_first_origin_serves_another_sites_cors_answer_from_the_cache() {
    let lab = start_with(&[Fault::CorsFirstOrigin]).await;
    assert_eq!(lab.topology(), Topology::CdnHost);
    assert!(
        lab.notes()
            .iter()
            .any(|n| n.contains("fetched first with Origin")),
        "{:?}",
        lab.notes()
    );
    let jira_origin = lab.jira_url().origin().ascii_serialization();
    let confluence_origin = lab.confluence_url().origin().ascii_serialization();
    assert_ne!(jira_origin, confluence_origin);
    let woff = lab
        .cdn_url(Product::Jira)
        .unwrap()
        .join(&cdnprobe::lab::pages::font_path(
            Product::Jira,
            lab.context_path(Product::Jira),
        ))
        .unwrap();
    let r = client(false)
        .get(woff.as_str())
        .header("Origin", &jira_origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(x_cache(r.headers()), "Hit from cloudfront");
    assert_eq!(
        header(r.headers(), "access-control-allow-origin"),
        Some(confluence_origin.as_str()),
        "Jira's page gets the answer cached for Confluence's"
    );
    // Whitelisting Origin again (the fix) gives each origin its own object.
    lab.set_fault(Fault::CorsFirstOrigin, false).await;
    let r = client(false)
        .get(woff.as_str())
        .header("Origin", &jira_origin)
        .send()
        .await
        .unwrap();
    assert_eq!(x_cache(r.headers()), "Miss from cloudfront");
    assert_eq!(
        header(r.headers(), "access-control-allow-origin"),
        Some(jira_origin.as_str())
    );
}

#[tokio::test]
async fn switching_a_fault_at_run_time_changes_responses() {
    let lab = start_with(&[]).await;
    let (c, page, html) = jira_dashboard(&lab, 0).await;
    let js = resolve(&page, &superbatch_js(&html));
    let control = at(&lab.jira_url(), "/__lab/fault/no-cache-static");
    let (_, h, _) = get(&c, &js).await;
    assert_eq!(x_cache(&h), "Miss from cloudfront");
    let (_, h, _) = get(&c, &js).await;
    assert_eq!(x_cache(&h), "Hit from cloudfront");

    let r = c.post(&control).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["changed"], true);
    assert!(
        v["active"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "no-cache-static")
    );
    // The edge keeps what it cached before the switch, as CloudFront keeps it after a deploy.
    let (_, h, _) = get(&c, &js).await;
    assert_eq!(
        x_cache(&h),
        "Hit from cloudfront",
        "cached before the switch"
    );
    assert!(lab.invalidate("/*").await.unwrap() >= 1);
    for _ in 0..2 {
        let (_, h, _) = get(&c, &js).await;
        assert_eq!(
            x_cache(&h),
            "Miss from cloudfront",
            "invalidated, then never stored"
        );
        assert_eq!(header(&h, "cache-control"), Some("no-cache"));
    }
    let (_, _, listing) = get_text(&c, &at(&lab.jira_url(), "/__lab/faults")).await;
    assert!(listing.contains("\"no-cache-static\""));

    let r = c.delete(&control).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (_, h, _) = get(&c, &js).await;
    assert_eq!(x_cache(&h), "Miss from cloudfront");
    let (_, h, _) = get(&c, &js).await;
    assert_eq!(x_cache(&h), "Hit from cloudfront");

    let r = c
        .post(at(&lab.jira_url(), "/__lab/fault/bogus"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("alb-stickiness"));
}

#[tokio::test]
async fn behavior_faults_switch_at_run_time_too() {
    let lab = start_with(&[]).await;
    let r = client(false)
        .post(at(&lab.confluence_url(), "/__lab/fault/private-cached"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for p in Product::ALL {
        let d = lab
            .behaviors(p)
            .behaviors
            .into_iter()
            .find(|b| b.is_default)
            .unwrap();
        assert!(d.can_store(), "{p}: default behavior now stores");
    }
    lab.set_fault(Fault::PrivateCached, false).await;
    let d = lab
        .behaviors(Product::Jira)
        .behaviors
        .into_iter()
        .find(|b| b.is_default)
        .unwrap();
    assert!(!d.can_store());
}

#[tokio::test]
async fn health_status_and_static_file_headers() {
    let lab = start_with(&[]).await;
    let c = client(false);
    let (s, _, body) = get_text(&c, &at(&lab.jira_url(), "/status")).await;
    assert_eq!(s, 200);
    assert!(body.contains("RUNNING"));
    let (_, _, body) = get_text(
        &c,
        &at(&lab.jira_url(), "/rest/static-asset-caching/health-checks"),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["isHealthy"].is_boolean())
    );
    let (_, h, _) = get(&c, &at(&lab.jira_url(), "/robots.txt")).await;
    assert!(
        h.get("cache-control").is_none(),
        "Tomcat serves files without Cache-Control"
    );
    assert!(header(&h, "etag").unwrap().starts_with("W/"));
    let (_, h, _) = get(&c, &at(&lab.jira_url(), "/robots.txt")).await;
    assert_eq!(
        x_cache(&h),
        "Hit from cloudfront",
        "behavior #5 caches for a year"
    );
    let (_, h, _) = get(
        &c,
        &at(
            &lab.jira_url(),
            "/secure/projectavatar?pid=10000&avatarId=10011&size=small",
        ),
    )
    .await;
    assert_eq!(
        header(&h, "cache-control"),
        Some("private, max-age=31536000")
    );
}

#[tokio::test]
async fn fixed_ports_and_shutdown_frees_them() {
    // Find 6 free consecutive ports by asking for one and trying from there.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = probe
        .local_addr()
        .unwrap()
        .port()
        .saturating_sub(100)
        .max(20000);
    drop(probe);
    let mut started = None;
    for b in (base..base + 600).step_by(7) {
        if let Ok(l) = lab::start(LabOptions {
            port: Some(b),
            ..LabOptions::default()
        })
        .await
        {
            started = Some((b, l));
            break;
        }
    }
    let (b, lab) = started.expect("some free port range");
    assert_eq!(lab.jira_url().port(), Some(b));
    assert_eq!(lab.confluence_url().port(), Some(b + 1));
    let (s, _, _) = get(&client(false), &at(&lab.jira_url(), "/status")).await;
    assert_eq!(s, 200);
    lab.shutdown().await;
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", b)).is_ok(),
        "port released"
    );
}

#[tokio::test]
async fn every_caching_behavior_of_the_seed_hits_on_repeat() {
    let lab = start_with(&[]).await;
    let (c, page, html) = jira_dashboard(&lab, 0).await;
    let refs: Vec<String> = references(&html)
        .iter()
        .map(|r| resolve(&page, r))
        .collect();
    let pick = |needle: &str| {
        refs.iter()
            .find(|u| u.contains(needle))
            .unwrap_or_else(|| panic!("dashboard references {needle}"))
            .clone()
    };
    for url in [
        pick("/superbatch/js/batch.js"),
        pick("/contextbatch/css/"),
        pick("/secure/viewavatar?"),
        pick("/download/resources/"),
        pick("/favicon.ico"),
        at(&lab.jira_url(), "/robots.txt"),
        at(
            &lab.jira_url(),
            "/secure/projectavatar?pid=10000&avatarId=10011&size=small",
        ),
    ] {
        let (s, h, _) = get(&c, &url).await;
        assert_eq!(s, 200, "{url}");
        assert_eq!(x_cache(&h), "Miss from cloudfront", "{url}");
        let (_, h, _) = get(&c, &url).await;
        assert_eq!(x_cache(&h), "Hit from cloudfront", "{url}");
        assert!(header(&h, "age").is_some(), "{url}: Age on a hit");
    }
    // The default behavior (all headers) never stores: pages and REST always go to the origin.
    for p in ["/secure/Dashboard.jspa", "/rest/api/2/myself"] {
        for _ in 0..2 {
            let (_, h, _) = get(&c, &at(&lab.jira_url(), p)).await;
            assert_eq!(x_cache(&h), "Miss from cloudfront", "{p}");
        }
    }
}

#[tokio::test]
async fn describe_lists_urls_topology_faults_and_credentials() {
    let lab = start_with(&[Fault::ExpiresNow]).await;
    let d = lab.describe();
    assert!(d.contains(lab.jira_url().as_str()), "{d}");
    assert!(d.contains(lab.confluence_url().as_str()), "{d}");
    assert!(d.contains("topology proxy"));
    assert!(d.contains("expires-now"));
    for u in lab.credentials() {
        assert!(d.contains(&u.username) && d.contains(&u.password), "{d}");
    }
    assert!(d.contains("/__lab/fault/"));
    let env = lab.journey_env();
    assert_eq!(env["CDNPROBE_JIRA_USER"], lab.credentials()[0].username);
    assert_eq!(
        env["CDNPROBE_CONFLUENCE_PASSWORD"],
        lab.credentials()[0].password
    );
    fn send_sync<T: Send + Sync>(_: &T) {}
    send_sync(&lab);
}

/// Confluence's session cookie after logging in through the edge.
async fn confluence_session(lab: &Lab) -> String {
    let c = client(false);
    let r = login(
        &c,
        &lab.confluence_url(),
        Product::Confluence,
        &lab.credentials()[0],
    )
    .await;
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("JSESSIONID="))
        .and_then(|c| c.split(';').next())
        .map(|v| format!("JSESSIONID={v}"))
        .expect("JSESSIONID")
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Open Synchrony's websocket through the edge, as the editor does.
async fn open_synchrony(
    lab: &Lab,
    cookie: &str,
) -> Result<
    (
        Socket,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    tokio_tungstenite::tungstenite::Error,
> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = at(&lab.confluence_url(), "/synchrony/v1/bayeux-sync1").replacen("http", "ws", 1);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    tokio_tungstenite::connect_async(req).await
}

async fn send_json(ws: &mut Socket, v: serde_json::Value) {
    use futures::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(v.to_string()))
        .await
        .unwrap();
}

/// The next text message, parsed; `None` when the server closed the socket.
async fn next_json(ws: &mut Socket) -> Option<serde_json::Value> {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

#[tokio::test]
async fn synchrony_websocket_through_the_edge_and_the_alb_and_its_two_faults() {
    use serde_json::json;
    let lab = start(LabOptions {
        context_path: Some("auto".into()),
        ..LabOptions::default()
    })
    .await;
    let cookie = confluence_session(&lab).await;

    // The ALB's health check for the Synchrony target group, through the edge.
    let (s, _, body) = get_text(
        &client(false),
        &at(&lab.confluence_url(), "/synchrony/heartbeat"),
    )
    .await;
    assert_eq!((s.as_u16(), body.as_str()), (200, "OK"));

    // Healthy: 101 through the edge (the default behavior forwards all headers), then bayeux
    // both ways and a push from the server.
    let (mut ws, resp) = open_synchrony(&lab, &cookie).await.expect("101");
    assert_eq!(resp.status(), 101);
    assert_eq!(x_cache(resp.headers()), "Miss from cloudfront");
    assert!(
        header(resp.headers(), "via")
            .unwrap()
            .contains("cloudfront")
    );
    assert!(header(resp.headers(), "sec-websocket-accept").is_some());
    send_json(
        &mut ws,
        json!([{"channel": "/meta/handshake", "version": "1.0"}]),
    )
    .await;
    let hs = next_json(&mut ws).await.unwrap();
    assert_eq!(hs[0]["successful"], true, "{hs}");
    let client_id = hs[0]["clientId"].as_str().unwrap().to_string();
    send_json(
        &mut ws,
        json!([{"channel": "/meta/connect", "clientId": client_id}]),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.unwrap()[0]["channel"],
        "/meta/connect"
    );
    let push = next_json(&mut ws).await.unwrap();
    assert_eq!(push[0]["channel"], "/synchrony/presence", "{push}");
    assert_eq!(push[0]["data"]["users"][0], "alice");
    drop(ws);

    // Without a session, the handshake is refused.
    let (mut anon, _) = open_synchrony(&lab, "JSESSIONID=nope").await.expect("101");
    send_json(&mut anon, json!([{"channel": "/meta/handshake"}])).await;
    let no = next_json(&mut anon).await.unwrap();
    assert_eq!(no[0]["successful"], false);
    assert!(next_json(&mut anon).await.is_none(), "then closed");

    // websocket-blocked, switched at run time: a /synchrony/* behavior that does not forward
    // the handshake headers; the origin gets a plain GET and answers 400.
    lab.set_fault(Fault::WebsocketBlocked, true).await;
    let b = lab.behaviors(Product::Confluence);
    assert!(
        b.behaviors
            .iter()
            .any(|x| x.name == "#7 /confluence/synchrony/*"),
        "{:?}",
        b.behaviors.iter().map(|x| &x.name).collect::<Vec<_>>()
    );
    match open_synchrony(&lab, &cookie).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), 400);
            assert_eq!(x_cache(r.headers()), "Error from cloudfront");
        }
        other => panic!("expected the upgrade refused, got {:?}", other.map(|r| r.1)),
    }
    // The heartbeat still answers through the new behavior.
    let (s, _, _) = get_text(
        &client(false),
        &at(&lab.confluence_url(), "/synchrony/heartbeat"),
    )
    .await;
    assert_eq!(s, 200);
    lab.set_fault(Fault::WebsocketBlocked, false).await;
    assert!(
        open_synchrony(&lab, &cookie).await.is_ok(),
        "back to healthy"
    );

    // synchrony-no-stickiness: the socket opens on another node, which does not know the
    // editing session: bayeux error, then the server closes.
    lab.set_fault(Fault::SynchronyNoStickiness, true).await;
    let (mut ws, resp) = open_synchrony(&lab, &cookie).await.expect("101");
    assert_eq!(resp.status(), 101);
    send_json(&mut ws, json!([{"channel": "/meta/handshake"}])).await;
    let err = next_json(&mut ws).await.unwrap();
    assert_eq!(err[0]["successful"], false);
    assert!(
        err[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("402::Unknown client"),
        "{err}"
    );
    assert!(next_json(&mut ws).await.is_none(), "then closed");
    lab.shutdown().await;
}

//! What kind of thing a request fetched, in the terms an Atlassian admin reasons about.
//!
//! Expectations differ by kind: `/s/` JS and CSS batches, fonts and avatars should come from the
//! edge; pages and REST calls are per-user and must not. The URL shape is the strongest signal
//! (Atlassian's paths say what they are), then the CDP resource type, then the MIME type, so a HAR
//! without `_resourceType` still classifies.

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AssetKind {
    Js,
    Css,
    Font,
    Image,
    /// Project, user and issue-type avatars (`/secure/projectavatar`, `/secure/viewavatar`, ...).
    Avatar,
    Html,
    /// REST / JSON calls.
    Rest,
    Websocket,
    Other,
}

impl AssetKind {
    /// The report's name (`js`, `font`, ...), derived like serde's.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Same for every user and versioned or long-lived: should be served from the edge.
pub fn is_static(kind: AssetKind) -> bool {
    matches!(
        kind,
        AssetKind::Js | AssetKind::Css | AssetKind::Font | AssetKind::Image | AssetKind::Avatar
    )
}

/// Per-user content (pages, REST): must not be shared from a cache.
pub fn is_dynamic(kind: AssetKind) -> bool {
    matches!(kind, AssetKind::Html | AssetKind::Rest)
}

/// Path of a URL without query or fragment; tolerant of relative or unparsable input.
fn url_path(url: &str) -> String {
    if let Ok(u) = url::Url::parse(url) {
        return u.path().to_string();
    }
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].to_string()
}

fn extension(path: &str) -> Option<String> {
    let last = path.rsplit('/').next()?;
    let (_, ext) = last.rsplit_once('.')?;
    Some(ext.to_ascii_lowercase())
}

const AVATAR_PATHS: &[&str] = &[
    "/secure/projectavatar",
    "/secure/viewavatar",
    "/secure/useravatar",
    "/universal_avatar/",
    "/images/icons/profilepics/",
];

/// Classify one request. `mime_type` may carry parameters (`text/css; charset=utf-8`).
pub fn asset_kind(url: &str, mime_type: Option<&str>, resource_type: &str) -> AssetKind {
    let lower_url = url.trim_start().to_ascii_lowercase();
    let rt = resource_type.trim().to_ascii_lowercase();
    let mime = mime_type
        .map(|m| {
            m.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let path = url_path(url);
    let path_lower = path.to_ascii_lowercase();
    let ext = extension(&path_lower);
    let ext = ext.as_deref();

    if rt == "websocket" || lower_url.starts_with("ws://") || lower_url.starts_with("wss://") {
        return AssetKind::Websocket;
    }
    if AVATAR_PATHS.iter().any(|p| path_lower.contains(p)) {
        return AssetKind::Avatar;
    }
    if matches!(ext, Some("woff" | "woff2" | "ttf" | "eot" | "otf"))
        || rt == "font"
        || mime.starts_with("font/")
        || matches!(
            mime.as_str(),
            "application/font-woff"
                | "application/font-woff2"
                | "application/x-font-woff"
                | "application/x-font-ttf"
                | "application/x-font-otf"
                | "application/x-font-opentype"
                | "application/font-sfnt"
                | "application/vnd.ms-fontobject"
        )
    {
        return AssetKind::Font;
    }
    if ext == Some("css") || rt == "stylesheet" || mime == "text/css" {
        return AssetKind::Css;
    }
    if matches!(ext, Some("js" | "mjs"))
        || rt == "script"
        || mime.contains("javascript")
        || mime.contains("ecmascript")
    {
        return AssetKind::Js;
    }
    if matches!(
        ext,
        Some("png" | "jpg" | "jpeg" | "gif" | "svg" | "webp" | "ico" | "avif" | "bmp")
    ) || rt == "image"
        || mime.starts_with("image/")
    {
        return AssetKind::Image;
    }
    if mime == "text/html" || mime == "application/xhtml+xml" {
        return AssetKind::Html;
    }
    if path_lower.contains("/rest/")
        || mime == "application/json"
        || mime.ends_with("+json")
        || rt == "xhr"
        || rt == "fetch"
    {
        return AssetKind::Rest;
    }
    if rt == "document" {
        return AssetKind::Html;
    }
    AssetKind::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "https://jira.example.com/s/d41d8cd98f00b204e9800998ecf8427e-CDN/-1pq0xw/940003/6411e0087fa7f3d6f3a1c5e7f8d5b8b3/1.0/_/download";

    #[test]
    fn atlassian_url_shapes() {
        let cases = [
            (format!("{S}/superbatch/js/batch.js?locale=en-US"), AssetKind::Js),
            (format!("{S}/contextbatch/css/_super/batch.css?locale=en-US"), AssetKind::Css),
            (format!("{S}/resources/com.atlassian.auiplugin:aui-font/assets/adgs-icons.woff"), AssetKind::Font),
            ("https://j.example.com/fonts/x.woff2".into(), AssetKind::Font),
            ("https://j.example.com/fonts/x.TTF".into(), AssetKind::Font),
            ("https://j.example.com/fonts/x.eot?#iefix".into(), AssetKind::Font),
            ("https://j.example.com/fonts/x.otf".into(), AssetKind::Font),
            ("https://j.example.com/secure/projectavatar?pid=10000&avatarId=10400".into(), AssetKind::Avatar),
            ("https://j.example.com/jira/secure/viewavatar?size=xsmall&avatarId=10318&avatarType=issuetype".into(), AssetKind::Avatar),
            ("https://j.example.com/secure/useravatar?ownerId=admin".into(), AssetKind::Avatar),
            ("https://j.example.com/rest/api/2/universal_avatar/view/type/project/avatar/10400".into(), AssetKind::Avatar),
            ("https://j.example.com/rest/api/2/issue/ABC-1".into(), AssetKind::Rest),
            ("https://j.example.com/download/resources/com.example:web/logo.png".into(), AssetKind::Image),
            ("https://j.example.com/favicon.ico".into(), AssetKind::Image),
        ];
        for (url, want) in cases {
            assert_eq!(asset_kind(&url, None, "Other"), want, "{url}");
        }
    }

    #[test]
    fn jspa_is_not_js() {
        assert_eq!(
            asset_kind(
                "https://j.example.com/secure/Dashboard.jspa",
                Some("text/html"),
                "Document"
            ),
            AssetKind::Html
        );
        assert_eq!(
            asset_kind("https://j.example.com/secure/Dashboard.jspa", None, "Other"),
            AssetKind::Other
        );
    }

    #[test]
    fn cdp_resource_types() {
        let u = "https://j.example.com/x";
        let cases = [
            ("Document", AssetKind::Html),
            ("Stylesheet", AssetKind::Css),
            ("Script", AssetKind::Js),
            ("Image", AssetKind::Image),
            ("Font", AssetKind::Font),
            ("XHR", AssetKind::Rest),
            ("Fetch", AssetKind::Rest),
            ("WebSocket", AssetKind::Websocket),
            ("Media", AssetKind::Other),
            ("Other", AssetKind::Other),
            // Chrome HAR `_resourceType` is lower case
            ("stylesheet", AssetKind::Css),
            ("websocket", AssetKind::Websocket),
        ];
        for (rt, want) in cases {
            assert_eq!(asset_kind(u, None, rt), want, "{rt}");
        }
    }

    #[test]
    fn mime_types() {
        let u = "https://j.example.com/x";
        let cases = [
            ("text/css; charset=UTF-8", AssetKind::Css),
            ("application/javascript", AssetKind::Js),
            ("text/javascript;charset=UTF-8", AssetKind::Js),
            ("font/woff2", AssetKind::Font),
            ("application/font-woff", AssetKind::Font),
            ("application/vnd.ms-fontobject", AssetKind::Font),
            ("image/svg+xml", AssetKind::Image),
            ("text/html;charset=UTF-8", AssetKind::Html),
            ("application/json;charset=UTF-8", AssetKind::Rest),
            ("application/problem+json", AssetKind::Rest),
            ("application/octet-stream", AssetKind::Other),
        ];
        for (m, want) in cases {
            assert_eq!(asset_kind(u, Some(m), "Other"), want, "{m}");
        }
    }

    #[test]
    fn websocket_by_scheme_and_rest_html_error_page() {
        assert_eq!(
            asset_kind(
                "wss://c.example.com/synchrony/v1/bayeux-sync1",
                None,
                "Other"
            ),
            AssetKind::Websocket
        );
        // A REST URL that answered with an HTML login page is a page.
        assert_eq!(
            asset_kind(
                "https://j.example.com/rest/api/2/myself",
                Some("text/html"),
                "XHR"
            ),
            AssetKind::Html
        );
        // Relative and garbage input does not panic.
        assert_eq!(asset_kind("/s/x/batch.js?x", None, ""), AssetKind::Js);
        assert_eq!(asset_kind("", None, ""), AssetKind::Other);
        assert_eq!(asset_kind("é.é", Some(";;"), "é"), AssetKind::Other);
    }

    #[test]
    fn static_and_dynamic() {
        for k in [
            AssetKind::Js,
            AssetKind::Css,
            AssetKind::Font,
            AssetKind::Image,
            AssetKind::Avatar,
        ] {
            assert!(is_static(k) && !is_dynamic(k), "{k}");
        }
        for k in [AssetKind::Html, AssetKind::Rest] {
            assert!(is_dynamic(k) && !is_static(k), "{k}");
        }
        for k in [AssetKind::Websocket, AssetKind::Other] {
            assert!(!is_dynamic(k) && !is_static(k), "{k}");
        }
        assert_eq!(
            serde_json::to_value(AssetKind::Websocket).unwrap(),
            "websocket"
        );
    }
}

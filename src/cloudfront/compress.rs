//! Edge compression and `Accept-Encoding`, as AWS's "Serving compressed files" page
//! (ServingCompressedFiles.html) describes them.
//!
//! - the viewer's `Accept-Encoding` is normalised: only `gzip` and `br` are kept (other values
//!   such as `deflate` are removed before the origin), and compressed and plain copies are cached
//!   apart;
//! - with `Compress` on a behavior, CloudFront compresses a response when the viewer accepts it,
//!   the `Content-Type` is listed, the size is 1,000 to 10,000,000 bytes, the origin sent a
//!   `Content-Length` and no `Content-Encoding`; a strong `ETag` becomes weak, an invalid one is
//!   removed. "When the viewer supports both formats, CloudFront uses Brotli", but only when the
//!   cache policy caches Brotli objects (`EnableAcceptEncodingBrotli`); otherwise, and always
//!   with legacy settings ("Brotli doesn't support legacy cache settings"), gzip.
//!
//! With a cache policy, `Accept-Encoding` follows its "Cache compressed objects" settings
//! (controlling-the-cache-key.html, "Cache compressed objects"): the viewer's value is
//! normalised to the formats the policy caches (`br,gzip`, `gzip`, `br`), which are in the key
//! and sent to the origin; a viewer accepting none of them gets no `Accept-Encoding` in the key
//! and `Accept-Encoding: identity` at the origin; a policy caching neither treats the header
//! like any other (not in the key, not forwarded).

use crate::cloudfront::behavior::AcceptEncodings;
use crate::exchange::Headers;

/// Smallest and largest body CloudFront compresses, in bytes.
pub(crate) const MIN_BYTES: usize = 1_000;
pub(crate) const MAX_BYTES: usize = 10_000_000;

/// `Content-Type` values CloudFront compresses ("File types that CloudFront compresses").
pub(crate) const COMPRESSIBLE_TYPES: [&str; 45] = [
    "application/dash+xml",
    "application/eot",
    "application/font",
    "application/font-sfnt",
    "application/javascript",
    "application/json",
    "application/opentype",
    "application/otf",
    "application/pkcs7-mime",
    "application/protobuf",
    "application/rss+xml",
    "application/truetype",
    "application/ttf",
    "application/vnd.apple.mpegurl",
    "application/vnd.ms-fontobject",
    "application/xhtml+xml",
    "application/xml",
    "application/x-font-opentype",
    "application/x-font-truetype",
    "application/x-font-ttf",
    "application/x-httpd-cgi",
    "application/x-javascript",
    "application/x-mpegurl",
    "application/x-opentype",
    "application/x-otf",
    "application/x-perl",
    "application/x-ttf",
    "font/eot",
    "font/opentype",
    "font/otf",
    "font/ttf",
    "image/svg+xml",
    "text/css",
    "text/csv",
    "text/html",
    "text/javascript",
    "text/js",
    "text/plain",
    "text/richtext",
    "text/tab-separated-values",
    "text/xml",
    "text/x-component",
    "text/x-java-source",
    "text/x-script",
    "vnd.apple.mpegurl",
];

/// The viewer's `Accept-Encoding` as CloudFront forwards it and keys on it: `br,gzip`, `gzip`,
/// `br`, or empty (no `gzip`/`br`: the header is not forwarded, content is served plain).
/// Codings refused with `q=0` do not count.
pub(crate) fn normalize_accept_encoding(request: &Headers) -> String {
    let (mut gzip, mut br) = (false, false);
    for line in request.get_all("accept-encoding") {
        for part in line.split(',') {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            match coding.as_str() {
                "gzip" if !refused => gzip = true,
                "br" if !refused => br = true,
                _ => {}
            }
        }
    }
    match (br, gzip) {
        (true, true) => "br,gzip".into(),
        (false, true) => "gzip".into(),
        (true, false) => "br".into(),
        (false, false) => String::new(),
    }
}

/// The normalised `Accept-Encoding` a behavior's compressed copies are kept apart by (and, with
/// a cache policy caching compressed objects, its key): a cache policy's formats only, or the
/// legacy `br`/`gzip` normalisation. A policy caching neither keeps nothing apart here: AWS does
/// not say how it keys what `Compress` alone gzips, so the edge compresses nothing then.
pub fn variant(policy: Option<AcceptEncodings>, request: &Headers) -> String {
    let n = normalize_accept_encoding(request);
    match policy {
        None => n,
        Some(p) => n
            .split(',')
            .filter(|c| (*c == "br" && p.br) || (*c == "gzip" && p.gzip))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// The `Accept-Encoding` the origin gets by this rule: `None` when it is not sent (then only a
/// policy forwarding the header sends the viewer's own).
pub(crate) fn origin_accept_encoding(
    policy: Option<AcceptEncodings>,
    request: &Headers,
) -> Option<String> {
    let v = variant(policy, request);
    match policy {
        None => (!v.is_empty()).then_some(v),
        Some(p) if p.gzip || p.br => Some(if v.is_empty() { "identity".into() } else { v }),
        Some(_) => None,
    }
}

/// The coding a behavior with `Compress` applies to this response for a viewer whose variant
/// (see `variant`) is `accepted`: `br` when the cache policy caches Brotli and the viewer takes
/// it, else `gzip` when the viewer takes gzip, else none. `had_length`: the origin sent
/// `Content-Length`.
pub(crate) fn edge_coding(
    compress: bool,
    policy: Option<AcceptEncodings>,
    accepted: &str,
    status: u16,
    response: &Headers,
    body_len: usize,
    had_length: bool,
) -> Option<&'static str> {
    let takes = |c: &str| accepted.split(',').any(|x| x == c);
    let coding = if policy.is_some_and(|p| p.br) && takes("br") {
        "br"
    } else if takes("gzip") {
        "gzip"
    } else {
        return None;
    };
    compressible(compress, status, response, body_len, had_length).then_some(coding)
}

/// `Compress` is on and the response is one CloudFront compresses.
fn compressible(
    compress: bool,
    status: u16,
    response: &Headers,
    body_len: usize,
    had_length: bool,
) -> bool {
    let media = response
        .get("content-type")
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    compress
        && status == 200
        && had_length
        && response.get("content-encoding").is_none()
        && (MIN_BYTES..=MAX_BYTES).contains(&body_len)
        && COMPRESSIBLE_TYPES.contains(&media.as_str())
}

/// The `ETag` of a response CloudFront compressed: a strong one becomes weak, a weak one stays,
/// an invalid one (neither `"` nor `W/` first) is removed.
pub(crate) fn compressed_etag(etag: &str) -> Option<String> {
    let t = etag.trim();
    if t.starts_with("W/") {
        Some(t.to_string())
    } else if t.starts_with('"') {
        Some(format!("W/{t}"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Headers {
        Headers::from_pairs(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn accept_encoding_is_normalised_to_gzip_and_br() {
        let n = |v: &str| normalize_accept_encoding(&h(&[("Accept-Encoding", v)]));
        assert_eq!(n("gzip, deflate, br, zstd"), "br,gzip");
        assert_eq!(n("deflate, gzip"), "gzip");
        assert_eq!(n("GZIP;q=0.5"), "gzip");
        assert_eq!(n("br"), "br");
        assert_eq!(n("deflate, sdch"), "");
        assert_eq!(n("gzip;q=0, identity"), "");
        assert_eq!(normalize_accept_encoding(&Headers::new()), "");
    }

    fn gzips(
        compress: bool,
        accepted: &str,
        status: u16,
        r: &Headers,
        len: usize,
        cl: bool,
    ) -> bool {
        edge_coding(compress, None, accepted, status, r, len, cl) == Some("gzip")
    }

    #[test]
    fn only_listed_types_in_the_size_range_with_a_length_are_gzipped() {
        let css = h(&[("Content-Type", "text/css;charset=UTF-8")]);
        assert!(gzips(true, "gzip", 200, &css, 5_000, true));
        assert!(gzips(true, "br,gzip", 200, &css, 5_000, true));
        assert!(
            !gzips(false, "gzip", 200, &css, 5_000, true),
            "Compress off"
        );
        assert_eq!(
            edge_coding(true, None, "br", 200, &css, 5_000, true),
            None,
            "br needs a cache policy"
        );
        assert!(
            !gzips(true, "", 200, &css, 5_000, true),
            "viewer accepts none"
        );
        assert!(!gzips(true, "gzip", 200, &css, 999, true), "too small");
        assert!(!gzips(true, "gzip", 200, &css, 10_000_001, true), "too big");
        assert!(
            !gzips(true, "gzip", 200, &css, 5_000, false),
            "no Content-Length"
        );
        assert!(!gzips(true, "gzip", 404, &css, 5_000, true));
        let png = h(&[("Content-Type", "image/png")]);
        assert!(!gzips(true, "gzip", 200, &png, 5_000, true));
        let done = h(&[("Content-Type", "text/css"), ("Content-Encoding", "br")]);
        assert!(
            !gzips(true, "gzip", 200, &done, 5_000, true),
            "already encoded"
        );
        // Fonts of the listed types are compressed too; woff/woff2 are not listed.
        let ttf = h(&[("Content-Type", "font/ttf")]);
        assert!(gzips(true, "gzip", 200, &ttf, 5_000, true));
        let woff = h(&[("Content-Type", "font/woff2")]);
        assert!(!gzips(true, "gzip", 200, &woff, 5_000, true));
    }

    #[test]
    fn a_cache_policy_keys_and_compresses_the_formats_it_caches() {
        let both = Some(AcceptEncodings {
            gzip: true,
            br: true,
        });
        let gzip_only = Some(AcceptEncodings {
            gzip: true,
            br: false,
        });
        let neither = Some(AcceptEncodings::default());
        let chrome = h(&[("Accept-Encoding", "gzip, deflate, br, zstd")]);
        let curl = h(&[("Accept-Encoding", "deflate")]);
        assert_eq!(variant(both, &chrome), "br,gzip");
        assert_eq!(variant(gzip_only, &chrome), "gzip");
        assert_eq!(
            variant(None, &chrome),
            "br,gzip",
            "legacy: gzip/br normalised"
        );
        assert_eq!(variant(neither, &chrome), "");
        assert_eq!(
            origin_accept_encoding(both, &chrome).as_deref(),
            Some("br,gzip")
        );
        assert_eq!(
            origin_accept_encoding(gzip_only, &chrome).as_deref(),
            Some("gzip")
        );
        assert_eq!(
            origin_accept_encoding(both, &curl).as_deref(),
            Some("identity")
        );
        assert_eq!(origin_accept_encoding(neither, &chrome), None);
        assert_eq!(origin_accept_encoding(None, &curl), None);
        let css = h(&[("Content-Type", "text/css")]);
        // "When the viewer supports both formats, CloudFront uses Brotli", with a policy caching it.
        assert_eq!(
            edge_coding(true, both, "br,gzip", 200, &css, 5_000, true),
            Some("br")
        );
        assert_eq!(
            edge_coding(true, both, "br", 200, &css, 5_000, true),
            Some("br")
        );
        assert_eq!(
            edge_coding(true, gzip_only, "gzip", 200, &css, 5_000, true),
            Some("gzip")
        );
        assert_eq!(
            edge_coding(true, None, "br,gzip", 200, &css, 5_000, true),
            Some("gzip")
        );
        assert_eq!(
            edge_coding(false, both, "br,gzip", 200, &css, 5_000, true),
            None
        );
    }

    #[test]
    fn etags_become_weak() {
        assert_eq!(compressed_etag("\"abc\"").as_deref(), Some("W/\"abc\""));
        assert_eq!(compressed_etag("W/\"abc\"").as_deref(), Some("W/\"abc\""));
        assert_eq!(compressed_etag("abc"), None);
    }
}

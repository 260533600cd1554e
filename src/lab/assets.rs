//! The lab origin's static bodies: real, small, valid files of the kinds a Jira or Confluence page
//! pulls (PNG avatars and images, an ICO favicon, font blobs with the right signature, CSS with
//! `@font-face`, and JavaScript that really runs and calls REST after load).
//!
//! Generated rather than checked in as binaries, so that every avatar id gets its own picture and
//! the bytes stay reviewable.

/// The shared "superbatch" runtime: a small AJS-like helper with `toInit` hooks, XHR and fetch
/// wrappers. Page code lives in the context and module batches (`context_js`, `module_js`).
pub const SUPER_JS: &str = include_str!("assets/super.js");

/// `synchrony.min.js`: defines `window.Synchrony`; connects to nothing outside the lab.
pub(crate) const SYNCHRONY_JS: &str = include_str!("assets/synchrony.js");

/// Context-batch JavaScript for one web-resource context (`atl.general`, `jira.view.issue`, ...).
/// Unknown contexts get an empty module, as a real batch of a context without JS would.
pub(crate) fn context_js(context: &str) -> &'static str {
    match context {
        "atl.general" => include_str!("assets/ctx-atl-general.js"),
        "atl.dashboard" => include_str!("assets/ctx-jira-dashboard.js"),
        "jira.view.issue" => include_str!("assets/ctx-jira-view-issue.js"),
        "jira.navigator.simple" => include_str!("assets/ctx-jira-navigator.js"),
        "jira.project.sidebar" => include_str!("assets/ctx-jira-project.js"),
        "dashboard" => include_str!("assets/ctx-confluence-dashboard.js"),
        "viewcontent" => include_str!("assets/ctx-confluence-viewcontent.js"),
        "editor" => include_str!("assets/ctx-confluence-editor.js"),
        "search" => include_str!("assets/ctx-confluence-search.js"),
        _ => "",
    }
}

/// Single-module batch JavaScript (`batch/<plugin>:<module>/<plugin>:<module>.js`).
pub(crate) fn module_js(key: &str) -> Option<&'static str> {
    match key {
        "com.atlassian.jira.jira-quick-edit-plugin:quick-create-issue" => {
            Some(include_str!("assets/mod-jira-quick-create.js"))
        }
        "com.atlassian.jira.jira-issue-nav-components:issueviewer" => {
            Some(include_str!("assets/mod-jira-issueviewer.js"))
        }
        "com.atlassian.confluence.plugins.quickreload:quickreload" => {
            Some(include_str!("assets/mod-confluence-quickreload.js"))
        }
        _ => None,
    }
}

/// Base stylesheet (AUI-like). Font URLs: two relative to the stylesheet, one absolute-path
/// (`abs_font_prefix` = context path + `/s/...` prefix), as real superbatches mix both. Each face
/// is used by an icon class present on every page, so the browser fetches all three.
pub(crate) fn super_css(abs_font_prefix: &str) -> String {
    let fonts = "com.atlassian.auiplugin:aui-fonts";
    format!(
        r#"/* superbatch css (cdnprobe lab) */
@font-face{{font-family:"Adgs Icons";src:url(../../resources/{fonts}/adgs-icons.woff2) format("woff2");font-weight:normal;font-style:normal}}
@font-face{{font-family:"Adgs Icons Legacy";src:url("../../resources/{fonts}/adgs-icons.woff") format("woff");font-weight:normal;font-style:normal}}
@font-face{{font-family:"Adgs Icons TrueType";src:url('{abs_font_prefix}/resources/{fonts}/adgs-icons.ttf') format("truetype");font-weight:normal;font-style:normal}}
html,body{{margin:0;padding:0;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;font-size:14px;color:#172b4d;background:#f4f5f7}}
.aui-header{{display:flex;align-items:center;gap:12px;background:#0747a6;color:#fff;padding:6px 16px}}
.aui-header a{{color:#fff;text-decoration:none}}
.aui-icon{{font-family:"Adgs Icons",sans-serif;display:inline-block;min-width:16px}}
.aui-icon-small{{font-family:"Adgs Icons Legacy",sans-serif}}
.aui-icon-large{{font-family:"Adgs Icons TrueType",sans-serif}}
.aui-button{{display:inline-block;padding:4px 10px;border-radius:3px;background:#f4f5f7;color:#172b4d;border:1px solid #dfe1e6;cursor:pointer}}
.aui-button-primary{{background:#0052cc;color:#fff}}
.aui-avatar img{{width:24px;height:24px;border-radius:50%;vertical-align:middle}}
#content,.aui-page-panel{{background:#fff;margin:16px;padding:16px;border-radius:3px}}
.aui-message-error{{background:#ffebe6;padding:8px;border-left:3px solid #de350b}}
.aui-dialog2{{position:fixed;top:10%;left:20%;width:60%;background:#fff;border:1px solid #dfe1e6;box-shadow:0 8px 16px rgba(9,30,66,.25);padding:16px}}
table.aui{{border-collapse:collapse;width:100%}}table.aui td,table.aui th{{border-bottom:1px solid #dfe1e6;padding:4px 8px;text-align:left}}
.field-group{{margin:8px 0}}.field-group label{{display:inline-block;width:120px}}
"#
    )
}

/// A context batch stylesheet: a comment naming the contexts plus a rule, valid CSS either way.
pub(crate) fn context_css(contexts: &str) -> String {
    format!("/* contextbatch css: {contexts} */\n.lab-context{{display:block}}\n")
}

/// A module batch stylesheet.
pub(crate) fn module_css(key: &str) -> String {
    format!("/* batch css: {key} */\n.lab-module{{display:block}}\n")
}

/// Font blobs: the right signature and MIME, not a real glyph table (browsers fetch them, then
/// report a decode failure, which does not matter to caching, CORS or 502 behavior).
pub fn font(file: &str) -> Option<(&'static str, Vec<u8>)> {
    let (mime, magic): (&str, &[u8]) = if file.ends_with(".woff2") {
        ("font/woff2", b"wOF2\x00\x01\x00\x00")
    } else if file.ends_with(".woff") {
        ("font/woff", b"wOFF\x00\x01\x00\x00")
    } else if file.ends_with(".ttf") {
        ("font/ttf", b"\x00\x01\x00\x00\x00\x0a\x00\x80")
    } else if file.ends_with(".eot") {
        (
            "application/vnd.ms-fontobject",
            b"\x00\x02\x00\x00LP\x00\x00",
        )
    } else {
        return None;
    };
    let mut body = magic.to_vec();
    // Deterministic filler so each file has a stable size and ETag.
    body.extend((0..2040u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    Some((mime, body))
}

/// A solid-colour square PNG (8-bit RGB), colour derived from `seed` (an avatar id).
pub(crate) fn avatar_png(size: u32, seed: u64) -> Vec<u8> {
    let palette = [
        [0x00, 0x52, 0xcc],
        [0x36, 0xb3, 0x7e],
        [0xff, 0x99, 0x1f],
        [0x65, 0x54, 0xc0],
        [0xde, 0x35, 0x0b],
        [0x00, 0xb8, 0xd9],
    ];
    let rgb = palette[(seed % palette.len() as u64) as usize];
    png(size, size, |x, y| {
        // A light diagonal band so it is recognisably an image, not a flat fill.
        if (x + y) % 7 == 0 {
            [0xff, 0xff, 0xff]
        } else {
            rgb
        }
    })
}

/// Encode an RGB image as PNG with stored (uncompressed) deflate blocks.
pub fn png(w: u32, h: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((w * 3 + 1) * h) as usize);
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            raw.extend_from_slice(&pixel(x, y));
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A favicon: an ICO container holding one 16x16 PNG (supported by every current browser).
pub(crate) fn favicon_ico(seed: u64) -> Vec<u8> {
    let png = avatar_png(16, seed);
    let mut out = vec![0, 0, 1, 0, 1, 0]; // reserved, type 1 (icon), 1 image
    out.extend_from_slice(&[16, 16, 0, 0]); // width, height, palette, reserved
    out.extend_from_slice(&1u16.to_le_bytes()); // planes
    out.extend_from_slice(&32u16.to_le_bytes()); // bits per pixel
    out.extend_from_slice(&(png.len() as u32).to_le_bytes());
    out.extend_from_slice(&22u32.to_le_bytes()); // offset: 6 + 16
    out.extend_from_slice(&png);
    out
}

/// A Confluence-style default profile picture.
pub(crate) fn profile_svg() -> &'static str {
    r##"<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48" viewBox="0 0 48 48"><rect width="48" height="48" fill="#dfe1e6"/><circle cx="24" cy="18" r="9" fill="#6b778c"/><path d="M8 44c2-10 9-15 16-15s14 5 16 15z" fill="#6b778c"/></svg>"##
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(if blocks.peek().is_none() { 1 } else { 0 });
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &d in data {
        a = (a + d as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_adler_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn png_has_signature_header_and_end() {
        let p = avatar_png(16, 3);
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&p[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(p[16..20].try_into().unwrap()), 16);
        assert_eq!(&p[p.len() - 8..p.len() - 4], b"IEND");
        assert_ne!(avatar_png(16, 1), avatar_png(16, 2), "seeds differ");
    }

    #[test]
    fn ico_wraps_a_png() {
        let ico = favicon_ico(1);
        assert_eq!(&ico[..4], &[0, 0, 1, 0]);
        assert_eq!(&ico[22..30], b"\x89PNG\r\n\x1a\n");
        let size = u32::from_le_bytes(ico[14..18].try_into().unwrap()) as usize;
        assert_eq!(size, ico.len() - 22);
    }

    #[test]
    fn fonts_have_their_signature_and_mime() {
        assert_eq!(font("adgs-icons.woff").unwrap().0, "font/woff");
        assert_eq!(&font("adgs-icons.woff").unwrap().1[..4], b"wOFF");
        assert_eq!(&font("adgs-icons.woff2").unwrap().1[..4], b"wOF2");
        assert_eq!(font("adgs-icons.ttf").unwrap().0, "font/ttf");
        assert!(font("adgs-icons.png").is_none());
    }

    #[test]
    fn css_references_all_three_fonts() {
        let css = super_css("/jira/s/x/_/download");
        assert!(
            css.contains("url(../../resources/com.atlassian.auiplugin:aui-fonts/adgs-icons.woff2)")
        );
        assert!(css.contains("adgs-icons.woff\")"));
        assert!(css.contains(
            "url('/jira/s/x/_/download/resources/com.atlassian.auiplugin:aui-fonts/adgs-icons.ttf')"
        ));
    }
}

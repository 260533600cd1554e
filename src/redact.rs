//! Secret redaction (DESIGN.md "Contracts"): secrets never reach disk or terminal by default.
//!
//! Every output path (report, HAR, HTML, terminal) passes exchanges and text through one
//! [`Redactor`]. A redacted value becomes `<redacted:XXXXXXXX>`, where `XXXXXXXX` is the first 4
//! bytes of HMAC-SHA256(run key, value) in hex: the same value maps to the same marker within a
//! run, so a load-balancer cookie that rotates on every response (`AWSALB`) stays *visibly
//! rotating* — the evidence for the never-hits diagnosis — without being disclosed. The key is
//! random per run, so markers cannot be matched against guessed values offline. Names (cookie
//! names, header names, query parameter names) are kept: they are the evidence.
//!
//! `--keep-secrets` builds a [`Redactor::keep`], which passes everything through unchanged.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::exchange::{Exchange, Headers};

const MARKER_PREFIX: &str = "<redacted:";
/// Shorter registered secrets are ignored: replacing every occurrence of a 1-3 character string
/// would shred the output.
const MIN_SECRET_LEN: usize = 4;

pub struct Redactor {
    /// HMAC-SHA256 keyed once: cloning the keyed state saves the two key-pad compressions that
    /// keying on every call costs (a 100 MB HAR hashes millions of cookie values).
    mac: Hmac<Sha256>,
    keep_secrets: bool,
    /// (text to find, value whose hash names it) — longest first.
    secrets: Vec<(String, String)>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("keep_secrets", &self.keep_secrets)
            .field("secrets", &self.secrets.len())
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// Redacting, with a fresh random key (markers are comparable within this run only).
    pub fn new_random() -> Self {
        Self::with_key(rand::random())
    }

    /// Redacting, with a given key (tests, or to compare markers across runs).
    pub fn with_key(key: [u8; 32]) -> Self {
        Redactor {
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
                .expect("HMAC accepts keys of any length"),
            keep_secrets: false,
            secrets: Vec::new(),
        }
    }

    /// `--keep-secrets`: nothing is redacted.
    pub fn keep() -> Self {
        Redactor {
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(&[0; 32])
                .expect("HMAC accepts keys of any length"),
            keep_secrets: true,
            secrets: Vec::new(),
        }
    }

    pub(crate) fn keeps_secrets(&self) -> bool {
        self.keep_secrets
    }

    /// A secret known in advance (a password from the environment): every occurrence, raw or
    /// URL/form-encoded, is replaced in every text this redactor touches. Strings shorter than 4
    /// characters are ignored.
    pub fn register_secret(&mut self, s: &str) {
        if s.chars().count() < MIN_SECRET_LEN {
            if !s.is_empty() {
                tracing::warn!(
                    "a registered secret shorter than {MIN_SECRET_LEN} characters is not redacted from free text"
                );
            }
            return;
        }
        let form: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        let pct = form.replace('+', "%20");
        for variant in [s.to_string(), form, pct] {
            if !self.secrets.iter().any(|(v, _)| *v == variant) {
                self.secrets.push((variant, s.to_string()));
            }
        }
        self.secrets
            .sort_by_key(|(needle, _)| std::cmp::Reverse(needle.len()));
    }

    /// 8 hex digits of HMAC-SHA256(key, value).
    pub(crate) fn hash(&self, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..4])
    }

    /// `<redacted:XXXXXXXX>` for a non-empty value; an empty value stays empty (nothing to hide,
    /// and "cleared" is evidence). With `keep`, the value itself.
    pub fn marker(&self, value: &str) -> String {
        if self.keep_secrets || value.is_empty() || is_marker(value) {
            return value.to_string();
        }
        format!("{MARKER_PREFIX}{}>", self.hash(value))
    }

    // -----------------------------------------------------------------------------------------

    pub(crate) fn redact_headers(&self, h: &Headers) -> Headers {
        if self.keep_secrets {
            return h.clone();
        }
        let redact = |n: &str, v: &str| {
            if v.contains('\n') {
                v.split('\n')
                    .map(|line| self.redact_header_value(n, line))
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                self.redact_header_value(n, v)
            }
        };
        // Headers redaction leaves as they were (all of them, on a site without cookies) stay
        // shared with the original instead of being copied: a large capture holds both.
        let mut changed: Option<Vec<(String, String)>> = None;
        for (i, (n, v)) in h.0.iter().enumerate() {
            let r = redact(n, v);
            match &mut changed {
                Some(out) => out.push((n.clone(), r)),
                None if r != *v => {
                    let mut out = Vec::with_capacity(h.0.len());
                    out.extend_from_slice(&h.0[..i]);
                    out.push((n.clone(), r));
                    changed = Some(out);
                }
                None => {}
            }
        }
        match changed {
            Some(pairs) => Headers::from_pairs(pairs),
            None => h.clone(),
        }
    }

    /// Redact one header value (a single line) given its header name.
    pub(crate) fn redact_header_value(&self, name: &str, value: &str) -> String {
        if self.keep_secrets {
            return value.to_string();
        }
        let n = name.to_ascii_lowercase();
        match n.as_str() {
            "cookie" => self.redact_cookie_header(value),
            "set-cookie" => self.redact_set_cookie(value),
            "authorization" | "proxy-authorization" => self.redact_auth(value),
            // Challenges (`Basic realm="Jira"`) are evidence, not secrets; their parameters
            // still get the name rules.
            "www-authenticate" | "proxy-authenticate" => self.redact_text(value),
            "location" | "referer" | "content-location" | "origin" => self.redact_url(value),
            // Any other header named like a secret (`X-Custom-Token-Echo`, `X-Amz-Security-Token`,
            // `X-ASESSIONID`, `X-Api-Key`): the whole value.
            _ if is_secret_name(&n) => self.marker(value),
            _ => self.redact_text(value),
        }
    }

    /// `a=1; b=2` -> `a=<redacted:..>; b=<redacted:..>`.
    fn redact_cookie_header(&self, value: &str) -> String {
        value
            .split(';')
            .map(|pair| {
                let lead = &pair[..pair.len() - pair.trim_start().len()];
                let pair = pair.trim_start();
                match pair.split_once('=') {
                    Some((k, v)) => format!("{lead}{k}={}", self.marker(v)),
                    None if pair.is_empty() => lead.to_string(),
                    None => format!("{lead}{}", self.marker(pair)),
                }
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// `NAME=VALUE; Path=/; HttpOnly` -> value hashed, attributes kept (unknown attribute values
    /// hashed too).
    fn redact_set_cookie(&self, value: &str) -> String {
        const KEEP: &[&str] = &[
            "path",
            "domain",
            "expires",
            "max-age",
            "samesite",
            "secure",
            "httponly",
            "partitioned",
            "priority",
            "version",
        ];
        let mut out = Vec::new();
        for (i, part) in value.split(';').enumerate() {
            let lead = &part[..part.len() - part.trim_start().len()];
            let p = part.trim_start();
            let redacted = match p.split_once('=') {
                Some((k, v)) if i == 0 => format!("{k}={}", self.marker(v)),
                Some((k, v)) if KEEP.contains(&k.trim().to_ascii_lowercase().as_str()) => {
                    format!("{k}={v}")
                }
                Some((k, v)) => format!("{k}={}", self.marker(v)),
                None if i == 0 => self.marker(p),
                None => p.to_string(),
            };
            out.push(format!("{lead}{redacted}"));
        }
        out.join(";")
    }

    /// `Basic dXNlcjpwYXNz` -> `Basic <redacted:..>`.
    fn redact_auth(&self, value: &str) -> String {
        let v = value.trim();
        match v.split_once(char::is_whitespace) {
            Some((scheme, rest)) if !rest.trim().is_empty() => {
                format!("{scheme} {}", self.marker(rest.trim()))
            }
            _ => self.marker(v),
        }
    }

    // -----------------------------------------------------------------------------------------

    /// Redact URL userinfo password and secret-looking query/fragment/path parameters
    /// (`atl_token`, `os_password`, `password`, `token`, `jwt`, `;jsessionid=`, ...). The URL is
    /// edited as text, so everything else stays byte-for-byte as captured.
    pub(crate) fn redact_url(&self, url: &str) -> String {
        if self.keep_secrets {
            return url.to_string();
        }
        let url = self.replace_secrets(url);
        let mut out = String::with_capacity(url.len());
        let mut rest = url.as_str();
        if let Some(scheme_end) = rest.find("://") {
            let after = scheme_end + 3;
            let auth_end = rest[after..]
                .find(['/', '?', '#'])
                .map(|i| after + i)
                .unwrap_or(rest.len());
            let authority = &rest[after..auth_end];
            out.push_str(&rest[..after]);
            if let Some(at) = authority.rfind('@') {
                self.push_userinfo(&mut out, &authority[..at]);
                out.push_str(&authority[at..]);
            } else {
                out.push_str(authority);
            }
            rest = &rest[auth_end..];
        }
        // Path parameters (`;jsessionid=`) end at `?`; query and fragment values may contain it.
        let q = rest.find(['?', '#']).unwrap_or(rest.len());
        out.push_str(&self.redact_pairs(&rest[..q], Mode::Path));
        out.push_str(&self.redact_pairs(&rest[q..], Mode::Url));
        out
    }

    /// URL userinfo, user and password alike (`user:pw@` -> `<redacted:..>:<redacted:..>@`):
    /// a user name in a URL is there to log in, and both leave with the URL.
    fn push_userinfo(&self, out: &mut String, userinfo: &str) {
        match userinfo.split_once(':') {
            Some((user, pass)) => {
                out.push_str(&self.marker(user));
                out.push(':');
                out.push_str(&self.marker(pass));
            }
            None => out.push_str(&self.marker(userinfo)),
        }
    }

    /// Redact free text: `JSESSIONID=..`, `seraph.*=..`, `atl_token=..`, `password=..`, JSON
    /// `"password": ".."`, `Authorization: Basic ..`, `Cookie: ..` / `Set-Cookie: ..` lines (every
    /// value), the userinfo of URLs inside the text, and every registered secret.
    pub(crate) fn redact_text(&self, s: &str) -> String {
        if self.keep_secrets {
            return s.to_string();
        }
        let s = self.replace_secrets(s);
        // Most header values ("text/css", a date, "Miss from cloudfront") hold nothing any rule
        // below could match: skip the four passes (a 100 MB HAR has millions of such values).
        if !text_may_hold_secret(&s) {
            return s;
        }
        let s = self.redact_text_userinfo(&s);
        let s = self.redact_pairs(&s, Mode::Text);
        self.redact_inline_headers(&s)
    }

    /// A log line: [`Redactor::redact_text`], plus `Name: value` lines whose name is secret
    /// (`X-Custom-Token-Echo: abc` as an HTTP library prints a header).
    pub(crate) fn redact_log(&self, s: &str) -> String {
        if self.keep_secrets {
            return s.to_string();
        }
        let s = self.replace_secrets(s);
        let s = self.redact_text_userinfo(&s);
        let s = self.redact_pairs(&s, Mode::Log);
        self.redact_inline_headers(&s)
    }

    /// `scheme://user:pw@host` anywhere in a text (a log line, an error message, a step
    /// description): the userinfo is redacted. One pass over `://` occurrences.
    fn redact_text_userinfo(&self, s: &str) -> String {
        if !s.contains("://") {
            return s.to_string();
        }
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut copied = 0;
        let mut search = 0;
        while let Some(pos) = s[search..].find("://").map(|p| p + search) {
            let start = pos + 3;
            let mut end = start;
            while end < b.len()
                && !matches!(
                    b[end],
                    b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'`' | b'\\'
                )
                && !b[end].is_ascii_whitespace()
            {
                end += 1;
            }
            if let Some(at) = s[start..end].rfind('@') {
                let userinfo = &s[start..start + at];
                if !userinfo.is_empty() && !is_marker(userinfo) {
                    out.push_str(&s[copied..start]);
                    self.push_userinfo(&mut out, userinfo);
                    copied = start + at;
                }
            }
            search = end.max(start);
        }
        out.push_str(&s[copied..]);
        out
    }

    /// A copy of the exchange with every secret-bearing field redacted.
    pub fn redact_exchange(&self, ex: &Exchange) -> Exchange {
        if self.keep_secrets {
            return ex.clone();
        }
        let mut out = ex.clone();
        out.url = self.redact_url(&ex.url);
        out.request_headers = self.redact_headers(&ex.request_headers);
        out.response_headers = self.redact_headers(&ex.response_headers);
        out.status_text = self.redact_text(&ex.status_text);
        out.initiator = ex.initiator.as_deref().map(|i| self.redact_initiator(i));
        out.redirected_to = ex.redirected_to.as_deref().map(|u| self.redact_url(u));
        out.phase = self.redact_text(&ex.phase);
        if let Some(f) = out.failure.as_mut() {
            f.error_text = self.redact_text(&f.error_text);
            f.blocked_reason = f.blocked_reason.as_deref().map(|b| self.redact_text(b));
        }
        if let Some(ws) = out.websocket.as_mut() {
            ws.error = ws.error.as_deref().map(|e| self.redact_text(e));
            for m in &mut ws.messages {
                m.data = self.redact_text(&m.data);
            }
        }
        out
    }

    /// `parser https://host/page?atl_token=..` — URLs inside get URL treatment.
    fn redact_initiator(&self, s: &str) -> String {
        s.split(' ')
            .map(|w| {
                if w.contains("://") {
                    self.redact_url(w)
                } else {
                    self.redact_text(w)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    // -----------------------------------------------------------------------------------------

    /// Replace registered secrets outside existing markers.
    fn replace_secrets(&self, s: &str) -> String {
        if self.secrets.is_empty() {
            return s.to_string();
        }
        map_outside_markers(s, |seg| {
            let mut seg = seg.to_string();
            for (needle, original) in &self.secrets {
                if seg.contains(needle.as_str()) {
                    seg = seg.replace(needle.as_str(), &self.marker(original));
                }
            }
            seg
        })
    }

    /// Hash the values of `name=value` pairs (and JSON `"name": "value"`) whose name is secret.
    fn redact_pairs(&self, s: &str, mode: Mode) -> String {
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut copied = 0;
        let mut i = 0;
        while i < b.len() {
            if !is_name_byte(b[i]) || (i > 0 && is_name_byte(b[i - 1])) {
                i += 1;
                continue;
            }
            let start = i;
            let mut j = i;
            while j < b.len() && is_name_byte(b[j]) {
                j += 1;
            }
            let name = &s[start..j];
            if !is_secret_name(name) {
                i = j;
                continue;
            }
            // `name=value`
            if j < b.len() && b[j] == b'=' {
                let vstart = j + 1;
                let mut vend = vstart;
                while vend < b.len() && !mode.ends_value(b[vend]) {
                    vend += 1;
                }
                let value = &s[vstart..vend];
                if !value.is_empty() && !is_marker(value) {
                    out.push_str(&s[copied..vstart]);
                    out.push_str(&self.marker(value));
                    copied = vend;
                }
                i = vend.max(j + 1);
                continue;
            }
            // A header line in a log (`X-Custom-Token-Echo: abc`, `token: "abc"`): the rest of
            // the line, or the quoted string. Only for logs: in our own sentences (`cache key:
            // path + cookies`) the word before a colon is not a field name.
            if mode == Mode::Log
                && j < b.len()
                && b[j] == b':'
                && !(j + 1 < b.len() && b[j + 1] == b'/')
                && !name.eq_ignore_ascii_case("authorization")
                && !name.eq_ignore_ascii_case("proxy-authorization")
                && !(start > 0 && b[start - 1] == b'"')
            {
                let (vstart, k) = value_after_colon(b, j + 1, true);
                let value = &s[vstart..k];
                if !value.trim().is_empty() && !is_marker(value) {
                    out.push_str(&s[copied..vstart]);
                    out.push_str(&self.marker(value));
                    copied = k;
                }
                i = k.max(j + 1);
                continue;
            }
            // JSON `"name": "value"`
            if matches!(mode, Mode::Text | Mode::Log)
                && start > 0
                && b[start - 1] == b'"'
                && j < b.len()
                && b[j] == b'"'
            {
                let mut k = j + 1;
                while k < b.len() && b[k].is_ascii_whitespace() {
                    k += 1;
                }
                if k < b.len() && b[k] == b':' {
                    k += 1;
                    while k < b.len() && b[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    if k < b.len() && b[k] == b'"' {
                        let vstart = k + 1;
                        let mut vend = vstart;
                        while vend < b.len() && b[vend] != b'"' {
                            if b[vend] == b'\\' {
                                vend += 1;
                            }
                            vend += 1;
                        }
                        let vend = vend.min(b.len());
                        let value = &s[vstart..vend];
                        if !value.is_empty() && !is_marker(value) {
                            out.push_str(&s[copied..vstart]);
                            out.push_str(&self.marker(value));
                            copied = vend;
                        }
                        i = vend.max(k + 1);
                        continue;
                    }
                }
            }
            i = j;
        }
        out.push_str(&s[copied..]);
        out
    }

    /// Header lines quoted inside text (curl lines, logs, `Debug` of a header map):
    /// `Authorization: Basic xyz` keeps the scheme and hides the credentials; `Cookie: a=1; b=2`
    /// and `Set-Cookie: a=1; Path=/` hide every cookie's value, whatever its name (a cookie's
    /// name says nothing about what its value is worth). Also `"cookie": "a=1"`.
    fn redact_inline_headers(&self, s: &str) -> String {
        let s = self.redact_inline_cookies(s);
        self.redact_inline_auth(&s)
    }

    fn redact_inline_cookies(&self, s: &str) -> String {
        let lower = s.to_ascii_lowercase();
        if !lower.contains("cookie") {
            return s.to_string();
        }
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut copied = 0;
        let mut search = 0;
        while let Some(pos) = lower[search..].find("cookie").map(|p| p + search) {
            let set = pos >= 4 && &lower[pos - 4..pos] == "set-";
            let mut k = pos + "cookie".len();
            let quoted_name = k < b.len() && b[k] == b'"';
            if quoted_name {
                k += 1;
            }
            if !(k < b.len() && b[k] == b':') {
                search = pos + 1;
                continue;
            }
            let (vstart, k) = value_after_colon(b, k + 1, false);
            let value = &s[vstart..k];
            if !value.is_empty() {
                out.push_str(&s[copied..vstart]);
                let red = if set {
                    self.redact_set_cookie(value)
                } else {
                    self.redact_cookie_header(value)
                };
                out.push_str(&red);
                copied = k;
            }
            search = k.max(pos + 1);
        }
        out.push_str(&s[copied..]);
        out
    }

    /// `Authorization: Basic xyz` quoted inside text.
    fn redact_inline_auth(&self, s: &str) -> String {
        let lower = s.to_ascii_lowercase();
        let mut out = String::with_capacity(s.len());
        let mut copied = 0;
        let mut search = 0;
        while let Some(pos) = lower[search..].find("authorization:") {
            let mut k = search + pos + "authorization:".len();
            let b = s.as_bytes();
            while k < b.len() && b[k] == b' ' {
                k += 1;
            }
            let scheme_start = k;
            while k < b.len() && !b[k].is_ascii_whitespace() && !matches!(b[k], b'"' | b'\'') {
                k += 1;
            }
            let scheme_end = k;
            while k < b.len() && b[k] == b' ' {
                k += 1;
            }
            let tok_start = k;
            while k < b.len() && !b[k].is_ascii_whitespace() && !matches!(b[k], b'"' | b'\'') {
                k += 1;
            }
            // `Authorization: <token>` without a scheme: the first word is the secret.
            let (vs, ve) = if tok_start < k {
                (tok_start, k)
            } else {
                (scheme_start, scheme_end)
            };
            let value = &s[vs..ve];
            if !value.is_empty() && !is_marker(value) {
                out.push_str(&s[copied..vs]);
                out.push_str(&self.marker(value));
                copied = ve;
            }
            search = k.max(search + pos + 1);
        }
        out.push_str(&s[copied..]);
        out
    }
}

/// The value of a `Name: value` written in text, `k` just after the colon: spaces skipped, then
/// a double-quoted string (to its unescaped closing quote) or the rest of the line. With
/// `bare_quote_ends`, an unquoted value also ends at a quote (a header line inside a quoted
/// log string). Returns the value's start and end.
fn value_after_colon(b: &[u8], mut k: usize, bare_quote_ends: bool) -> (usize, usize) {
    while k < b.len() && b[k] == b' ' {
        k += 1;
    }
    let quoted = k < b.len() && b[k] == b'"';
    if quoted {
        k += 1;
    }
    let vstart = k;
    while k < b.len()
        && !matches!(b[k], b'\r' | b'\n')
        && !(quoted && b[k] == b'"' && b[k - 1] != b'\\')
        && (quoted || !bare_quote_ends || !matches!(b[k], b'"' | b'\''))
    {
        k += 1;
    }
    (vstart, k)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Url,
    Text,
    /// Text plus `Name: value` header lines (see [`Redactor::redact_log`]).
    Log,
}

impl Mode {
    fn ends_value(self, b: u8) -> bool {
        match self {
            Mode::Path => matches!(b, b'/' | b';' | b'?' | b'#' | b' ' | b'\t' | b'\r' | b'\n'),
            Mode::Url => matches!(b, b'&' | b'#' | b';' | b' ' | b'\t' | b'\r' | b'\n'),
            Mode::Text | Mode::Log => matches!(
                b,
                b';' | b'&'
                    | b','
                    | b'"'
                    | b'\''
                    | b' '
                    | b'\t'
                    | b'\r'
                    | b'\n'
                    | b')'
                    | b']'
                    | b'}'
                    | b'#'
            ),
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// Parameter, cookie, header and field names whose values are secrets (the one policy, issue 17):
/// a name containing `token`, `secret`, `passw`, `auth`, `sess` (`session` too), `sig`, `key`,
/// `jwt`, `credential`, `csrf`/`xsrf` or `saml`; exactly `code`, `state` (OAuth), `policy`,
/// `pwd`, `ticket` (CAS) or `otp`; or starting with `seraph.`, `awsalb`, `awselb` or
/// `cloudfront-` (CloudFront's signed cookies). CloudFront's signed-URL parameters
/// (`Signature`, `Policy`, `Key-Pair-Id`) and AWS SigV4's (`X-Amz-Signature`,
/// `X-Amz-Credential`, `X-Amz-Security-Token`) fall under these. Matching is ASCII
/// case-insensitive and allocation-free: it runs for every name token of every header value of
/// a 100 MB HAR (`analyze`), so it is a handful of substring scans over a short name, no regex.
pub(crate) fn is_secret_name(name: &str) -> bool {
    const CONTAINS: &[&[u8]] = &[
        b"token",
        b"secret",
        b"passw",
        b"auth",
        b"sess",
        b"sig",
        b"key",
        b"jwt",
        b"credential",
        b"csrf",
        b"xsrf",
        b"saml",
    ];
    const EXACT: &[&[u8]] = &[b"code", b"state", b"policy", b"pwd", b"ticket", b"otp"];
    const PREFIX: &[&[u8]] = &[b"seraph.", b"awsalb", b"awselb", b"cloudfront-"];
    let b = name.as_bytes();
    if b.len() < 3 {
        return false;
    }
    let mut buf = [0u8; 64];
    let lower: std::borrow::Cow<[u8]> = if b.len() <= buf.len() {
        for (d, c) in buf.iter_mut().zip(b) {
            *d = c.to_ascii_lowercase();
        }
        std::borrow::Cow::Borrowed(&buf[..b.len()])
    } else {
        std::borrow::Cow::Owned(b.to_ascii_lowercase())
    };
    let n: &[u8] = &lower;
    // One pass over the name: only where a byte can start one of the fragments are the
    // fragments compared (most bytes start none).
    EXACT.contains(&n)
        || PREFIX.iter().any(|p| n.starts_with(p))
        || (0..n.len()).any(|i| {
            matches!(n[i], b't' | b's' | b'p' | b'a' | b'k' | b'j' | b'c' | b'x')
                && CONTAINS
                    .iter()
                    .any(|c| c[0] == n[i] && n[i..].starts_with(c))
        })
}

/// Whether any rule of [`Redactor::redact_text`] (after registered secrets) could match `s`: a
/// `name=value` needs `=`, a JSON `"name": "value"` needs `"`, URL userinfo needs `@`, and an
/// inline `Cookie:` / `Authorization:` needs a colon and the header's name.
fn text_may_hold_secret(s: &str) -> bool {
    let b = s.as_bytes();
    if b.iter().any(|&c| matches!(c, b'=' | b'"' | b'@')) {
        return true;
    }
    b.contains(&b':')
        && (contains_ignore_case(b, b"cookie") || contains_ignore_case(b, b"authorization"))
}

/// ASCII case-insensitive substring test without allocating (`needle` in lower case).
fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len()
        && haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Length of a marker (`<redacted:` + 8 hex digits + `>`).
const MARKER_LEN: usize = MARKER_PREFIX.len() + 9;

/// `s` starts with a real marker (not just text that looks like the prefix).
fn is_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= MARKER_LEN
        && s.starts_with(MARKER_PREFIX)
        && b[MARKER_PREFIX.len()..MARKER_LEN - 1]
            .iter()
            .all(|c| c.is_ascii_hexdigit())
        && b[MARKER_LEN - 1] == b'>'
}

/// Apply `f` to the parts of `s` that are not markers.
fn map_outside_markers(s: &str, f: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(s.len());
    let mut seg_start = 0;
    let mut search = 0;
    while let Some(pos) = s[search..].find(MARKER_PREFIX).map(|p| p + search) {
        if is_marker(&s[pos..]) {
            out.push_str(&f(&s[seg_start..pos]));
            out.push_str(&s[pos..pos + MARKER_LEN]);
            seg_start = pos + MARKER_LEN;
            search = seg_start;
        } else {
            search = pos + 1;
        }
    }
    out.push_str(&f(&s[seg_start..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Failure;

    const PASSWORD: &str = "S3cr3t p@ss,word!";

    #[test]
    fn every_fragment_starts_with_a_byte_the_scan_stops_at() {
        // is_secret_name's one-pass scan only compares fragments where the byte can start one.
        for name in [
            "x-token",
            "client_secret",
            "os_password",
            "oauth",
            "jsessionid",
            "sig",
            "api-key",
            "jwt",
            "credentials",
            "csrf",
            "xsrf",
            "samlresponse",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["content-type", "x-cache", "accept", "via", "age"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn the_prefilter_lets_through_only_what_no_rule_matches() {
        for plain in [
            "text/css",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "Miss from cloudfront",
            "1.1 abc.cloudfront.net (CloudFront)",
        ] {
            assert!(!text_may_hold_secret(plain), "{plain}");
            assert_eq!(r().redact_text(plain), plain);
        }
        for maybe in [
            "token=abc",
            "{\"password\": \"x\"}",
            "see https://u:p@host/",
            "COOKIE: a=b",
            "Authorization: Basic eHk6eno",
        ] {
            assert!(text_may_hold_secret(maybe), "{maybe}");
            assert_ne!(r().redact_text(maybe), maybe, "{maybe}");
        }
    }

    fn r() -> Redactor {
        let mut r = Redactor::with_key([7; 32]);
        r.register_secret(PASSWORD);
        r
    }

    fn marker_re(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = s;
        while let Some(p) = rest.find(MARKER_PREFIX) {
            let m = &rest[p..p + MARKER_PREFIX.len() + 9];
            assert!(m.ends_with('>'), "{m}");
            assert!(
                m[MARKER_PREFIX.len()..MARKER_PREFIX.len() + 8]
                    .chars()
                    .all(|c| c.is_ascii_hexdigit())
            );
            out.push(m.to_string());
            rest = &rest[p + 1..];
        }
        out
    }

    #[test]
    fn hash_is_stable_per_value_and_key() {
        let a = Redactor::with_key([1; 32]);
        let b = Redactor::with_key([2; 32]);
        assert_eq!(a.hash("v1"), a.hash("v1"));
        assert_ne!(a.hash("v1"), a.hash("v2"));
        assert_ne!(a.hash("v1"), b.hash("v1"));
        assert_eq!(a.hash("v1").len(), 8);
        assert_ne!(
            Redactor::new_random().hash("x"),
            Redactor::new_random().hash("x")
        );
        assert!(
            !format!("{a:?}").contains("1, 1"),
            "Debug must not print the key"
        );
    }

    #[test]
    fn cookie_header_keeps_names_hashes_values() {
        let r = r();
        let mut h = Headers::new();
        h.push(
            "Cookie",
            "JSESSIONID=ABCDEF0123456789; seraph.rememberme.cookie=12345%3Adeadbeef; AWSALB=rotating1; atlassian.xsrf.token=BP8Q-WXN6",
        );
        let out = r.redact_headers(&h);
        let v = out.get("cookie").unwrap();
        for name in [
            "JSESSIONID=",
            "seraph.rememberme.cookie=",
            "AWSALB=",
            "atlassian.xsrf.token=",
        ] {
            assert!(v.contains(name), "{v}");
        }
        for secret in ["ABCDEF0123456789", "deadbeef", "rotating1", "BP8Q-WXN6"] {
            assert!(!v.contains(secret), "{v}");
        }
        assert_eq!(marker_re(v).len(), 4);
        assert!(v.starts_with(&format!("JSESSIONID={}; ", r.marker("ABCDEF0123456789"))));
    }

    #[test]
    fn rotating_awsalb_stays_visibly_rotating() {
        let r = r();
        let set = |v: &str| {
            let mut h = Headers::new();
            h.push(
                "set-cookie",
                format!("AWSALB={v}; Expires=Tue, 07 Jan 2025 10:00:00 GMT; Path=/"),
            );
            r.redact_headers(&h).get("set-cookie").unwrap().to_string()
        };
        let (a1, a2, b) = (set("aaaa1111"), set("aaaa1111"), set("bbbb2222"));
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert!(a1.starts_with("AWSALB=<redacted:"), "{a1}");
        assert!(
            a1.ends_with("; Expires=Tue, 07 Jan 2025 10:00:00 GMT; Path=/"),
            "{a1}"
        );
    }

    #[test]
    fn set_cookie_keeps_attributes_and_splits_cdp_multi_values() {
        let r = r();
        let mut h = Headers::new();
        h.push(
            "Set-Cookie",
            "JSESSIONID=ABC123; Path=/jira; Secure; HttpOnly; SameSite=None\nseraph.rememberme.cookie=99%3Aabc; Max-Age=1209600; Domain=example.com; Weird=leak",
        );
        let v = r.redact_headers(&h).get("set-cookie").unwrap().to_string();
        let lines: Vec<&str> = v.split('\n').collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            format!(
                "JSESSIONID={}; Path=/jira; Secure; HttpOnly; SameSite=None",
                r.marker("ABC123")
            )
        );
        assert!(lines[1].starts_with("seraph.rememberme.cookie=<redacted:"));
        assert!(lines[1].contains("; Max-Age=1209600; Domain=example.com; Weird=<redacted:"));
        assert!(!v.contains("ABC123") && !v.contains("abc;") && !v.contains("leak"));
    }

    #[test]
    fn authorization_keeps_scheme() {
        let r = r();
        let mut h = Headers::new();
        h.push("Authorization", "Basic YWRtaW46UzNjcjN0");
        h.push("Proxy-Authorization", "Bearer eyJhbGciOi.x.y");
        h.push("X-Api-Key", "k-123456");
        h.push("Accept", "text/html");
        let out = r.redact_headers(&h);
        assert_eq!(
            out.get("authorization").unwrap(),
            format!("Basic {}", r.marker("YWRtaW46UzNjcjN0"))
        );
        assert!(
            out.get("proxy-authorization")
                .unwrap()
                .starts_with("Bearer <redacted:")
        );
        assert!(out.get("x-api-key").unwrap().starts_with("<redacted:"));
        assert_eq!(out.get("accept"), Some("text/html"));
        // names and order unchanged
        let names: Vec<&str> = out.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "Authorization",
                "Proxy-Authorization",
                "X-Api-Key",
                "Accept"
            ]
        );
    }

    #[test]
    fn any_header_with_a_registered_secret() {
        let r = r();
        let mut h = Headers::new();
        h.push("X-Debug", format!("login as admin/{PASSWORD} ok"));
        h.push(
            "Referer",
            "https://j.example.com/login.jsp?os_password=S3cr3t+p%40ss%2Cword%21&os_username=admin",
        );
        let out = r.redact_headers(&h);
        let dbg = out.get("x-debug").unwrap();
        assert_eq!(dbg, format!("login as admin/{} ok", r.marker(PASSWORD)));
        let referer = out.get("referer").unwrap();
        assert!(!referer.contains("S3cr3t"), "{referer}");
        assert!(referer.contains("os_username=admin"), "{referer}");
        // The form-encoded password maps to the same marker as the raw one.
        assert!(referer.contains(&r.marker(PASSWORD)), "{referer}");
    }

    #[test]
    fn url_params_userinfo_and_path_params() {
        let r = r();
        let u = r.redact_url(
            "https://admin:hunter22@j.example.com/secure/Dashboard.jspa;jsessionid=ABC?atl_token=BP8Q-WXN6_x|lin&pid=10000&jwt=eyJ.a.b&token=t1&password=p1#access_token=zz",
        );
        for secret in ["hunter22", "ABC?", "BP8Q", "eyJ", "=t1", "=p1", "zz"] {
            assert!(!u.contains(secret), "{secret} in {u}");
        }
        assert!(
            u.starts_with(&format!(
                "https://{}:{}@",
                r.marker("admin"),
                r.marker("hunter22")
            )),
            "{u}"
        );
        assert!(
            u.contains("@j.example.com/secure/Dashboard.jspa;jsessionid=<redacted:"),
            "{u}"
        );
        assert!(u.contains("&pid=10000&"), "{u}");
        assert!(u.contains("#access_token=<redacted:"), "{u}");
        // Nothing to redact: unchanged byte for byte.
        let plain = "https://j.example.com/s/abc-CDN/x/_/download/batch.js?locale=en-US&_=1";
        assert_eq!(r.redact_url(plain), plain);
        // Not a URL at all: still safe.
        assert!(!r.redact_url("garbage atl_token=xyz1").contains("xyz1"));
    }

    #[test]
    fn text_patterns() {
        let r = r();
        let t = r.redact_text(
            "Cookie: JSESSIONID=AAA111; seraph.confluence=BBB222 then {\"os_password\": \"CCC333\", \"user\":\"bob\"} and atl_token=DDD444, Authorization: Basic EEE555 curl -H 'Authorization: Bearer FFF666'",
        );
        for s in ["AAA111", "BBB222", "CCC333", "DDD444", "EEE555", "FFF666"] {
            assert!(!t.contains(s), "{s} in {t}");
        }
        for keep in [
            "JSESSIONID=",
            "seraph.confluence=",
            "\"os_password\": \"",
            "\"user\":\"bob\"",
            "atl_token=",
            "Basic <redacted:",
            "Bearer <redacted:",
        ] {
            assert!(t.contains(keep), "{keep} missing in {t}");
        }
        // Idempotent: redacting twice changes nothing.
        assert_eq!(r.redact_text(&t), t);
        // Names are matched by pattern (`*token*` includes `tokenizer`); others are left alone.
        assert_eq!(
            r.redact_text("tokenizer=on mypid=3 locale=en-US"),
            format!("tokenizer={} mypid=3 locale=en-US", r.marker("on"))
        );
    }

    #[test]
    fn text_that_only_looks_like_a_marker_is_still_redacted() {
        let r = r();
        let t = r.redact_text(&format!("<redacted:{PASSWORD}> JSESSIONID=<redacted:zz>"));
        assert!(!t.contains("S3cr3t"), "{t}");
        assert!(!t.contains("zz"), "{t}");
    }

    #[test]
    fn short_secrets_are_ignored_and_keep_passes_through() {
        let mut r = Redactor::with_key([0; 32]);
        r.register_secret("ab");
        r.register_secret("");
        assert_eq!(r.redact_text("abc ab"), "abc ab");

        let k = Redactor::keep();
        assert!(k.keeps_secrets());
        let mut h = Headers::new();
        h.push("Cookie", "JSESSIONID=AAA");
        assert_eq!(k.redact_headers(&h), h);
        assert_eq!(
            k.redact_url("https://x/?atl_token=1"),
            "https://x/?atl_token=1"
        );
        assert_eq!(k.redact_text("JSESSIONID=AAA"), "JSESSIONID=AAA");
    }

    #[test]
    fn exchange_never_keeps_password_or_jsessionid() {
        let r = r();
        let mut req = Headers::new();
        req.push("Cookie", "JSESSIONID=SESSION42; AWSALB=alb1");
        req.push(
            "Referer",
            "https://j.example.com/login.jsp?os_password=S3cr3t%20p%40ss%2Cword%21",
        );
        let mut resp = Headers::new();
        resp.push(
            "Set-Cookie",
            "JSESSIONID=SESSION43; Path=/; HttpOnly\nAWSALB=alb2; Path=/",
        );
        resp.push(
            "Location",
            "https://j.example.com/secure/Dashboard.jspa?atl_token=TOK9",
        );
        let ex = Exchange {
            id: "1.1".into(),
            url: format!(
                "https://j.example.com/login.jsp?os_username=admin&os_password={}",
                url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect::<String>()
            ),
            method: "POST".into(),
            resource_type: "Document".into(),
            initiator: Some("parser https://j.example.com/login.jsp?atl_token=TOK8".into()),
            request_headers: req,
            status: Some(302),
            response_headers: resp,
            redirected_to: Some("https://j.example.com/x?jwt=JWT7".into()),
            phase: format!("jira#1 fill #login-form-password with {PASSWORD}"),
            failure: Some(Failure {
                error_text: "net::ERR_FAILED JSESSIONID=SESSION44".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let out = r.redact_exchange(&ex);
        let dump = serde_json::to_string(&out).unwrap();
        for secret in [
            "S3cr3t", "SESSION4", "TOK", "JWT7", "alb1", "alb2", "p%40ss", "p@ss",
        ] {
            assert!(!dump.contains(secret), "{secret} survived: {dump}");
        }
        for kept in [
            "JSESSIONID",
            "AWSALB",
            "os_password",
            "os_username=admin",
            "login-form-password",
            "Path=/; HttpOnly",
        ] {
            assert!(dump.contains(kept), "{kept} lost: {dump}");
        }
        assert_eq!(out.method, "POST");
        assert_eq!(out.status, Some(302));
    }

    #[test]
    fn names_by_pattern_issue_17() {
        for secret in [
            "access_token",
            "client_secret",
            "userPassword",
            "oauth_verifier",
            "SESSION",
            "__Host-session",
            "mysess",
            "sig",
            "apiKey",
            "jwt",
            "code",
            "state",
            "Signature",
            "Policy",
            "Key-Pair-Id",
            "CloudFront-Signature",
            "CloudFront-Policy",
            "CloudFront-Key-Pair-Id",
            "X-Amz-Signature",
            "X-Amz-Credential",
            "X-Amz-Security-Token",
            "X-Custom-Token-Echo",
            "JSESSIONID",
            "seraph.rememberme.cookie",
            "AWSALB",
        ] {
            assert!(is_secret_name(secret), "{secret}");
        }
        for plain in [
            "locale", "pid", "avatarId", "_", "size", "v", "barcode", "status", "x-cache", "age",
        ] {
            assert!(!is_secret_name(plain), "{plain}");
        }
        let long = format!("{}token", "a".repeat(100));
        assert!(is_secret_name(&long));
    }

    #[test]
    fn userinfo_fragments_and_headers_by_pattern() {
        let r = r();
        let u = r.redact_url("http://onlyuser@h.example/p?sig=S1&code=C1&state=ST1&Key-Pair-Id=K1&Policy=P1&Signature=SG1&X-Amz-Credential=AK1%2F2026&locale=en#id_token=F1");
        for s in [
            "onlyuser", "S1", "C1", "ST1", "K1", "P1", "SG1", "AK1", "F1",
        ] {
            assert!(!u.contains(s), "{s} in {u}");
        }
        assert!(u.contains("&locale=en#id_token=<redacted:"), "{u}");
        // Userinfo inside free text (an error message, a step description, a log line).
        let t = r.redact_text(
            "navigating to http://bob:pw123456@h.example/x failed; retry https://h.example/ok",
        );
        assert!(!t.contains("bob") && !t.contains("pw123456"), "{t}");
        assert!(
            t.contains("@h.example/x failed; retry https://h.example/ok"),
            "{t}"
        );
        assert_eq!(r.redact_text(&t), t);
        // Headers named like secrets: the whole value.
        for (n, v) in [
            ("X-Custom-Token-Echo", "echo-123"),
            ("X-Session-Id", "sid-1"),
            ("X-Amz-Security-Token", "IQo-1"),
            ("CloudFront-Signature", "cf-1"),
        ] {
            assert_eq!(r.redact_header_value(n, v), r.marker(v), "{n}");
        }
        assert_eq!(
            r.redact_header_value("WWW-Authenticate", "Basic realm=\"Jira\""),
            "Basic realm=\"Jira\""
        );
        // Health-check style bodies and log lines with cookies of any name.
        let t =
            r.redact_text("Set-Cookie: SESSION=abc1; Path=/ and __Host-session=abc2, mysess=abc3");
        for s in ["abc1", "abc2", "abc3"] {
            assert!(!t.contains(s), "{s} in {t}");
        }
        let l = r.redact_log("set-cookie: plainname=val123; Path=/\nx-custom-token-echo: echo 42\nCookie: a=b1234; c=d5678\n{\"cookie\": \"z=zz9876\"}");
        for s in ["val123", "echo 42", "b1234", "d5678", "zz9876"] {
            assert!(!l.contains(s), "{s} in {l}");
        }
        assert!(l.contains("Path=/") && l.contains("plainname="), "{l}");
        // Our own sentences keep their words (only logs read `name: value`).
        assert_eq!(
            r.redact_text("cache key: path + cookies"),
            "cache key: path + cookies"
        );
    }

    proptest::proptest! {
        #[test]
        fn redaction_never_panics_and_hides_registered_secret(s in "\\PC{0,60}", secret in "[a-zA-Z0-9!@#%^&*()+ ]{4,12}") {
            let mut r = Redactor::with_key([3; 32]);
            r.register_secret(&secret);
            let text = format!("{s}{secret}{s}");
            let out = r.redact_text(&text);
            // Markers are hex; blank them out so a secret that happens to be hex-like cannot
            // match inside one.
            let mut without = String::new();
            let mut rest = out.as_str();
            while let Some(p) = rest.find(MARKER_PREFIX) {
                without.push_str(&rest[..p]);
                if is_marker(&rest[p..]) {
                    without.push('\u{0}');
                    rest = &rest[p + MARKER_LEN..];
                } else {
                    without.push('<');
                    rest = &rest[p + 1..];
                }
            }
            without.push_str(rest);
            proptest::prop_assert!(!without.contains(&secret), "{:?} -> {:?}", text, out);
            let _ = r.redact_url(&text);
            let _ = r.redact_header_value("set-cookie", &text);
            let _ = r.redact_header_value("cookie", &text);
            let _ = r.redact_header_value("authorization", &text);
        }
    }
}

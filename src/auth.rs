//! Sessions made elsewhere: a Netscape `cookies.txt` (`--cookie-file`) and extra request headers
//! (`--header`), for sites whose login is SSO or 2-step and cannot be scripted.
//!
//! Header values may use `${ENV}` so that a token never has to appear in the process's argv.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::error::UserError;

/// One cookie from a cookies.txt, in the shape CDP's `Storage.setCookies` takes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FileCookie {
    pub domain: String,
    pub include_subdomains: bool,
    pub path: String,
    pub secure: bool,
    pub http_only: bool,
    /// Seconds since the epoch; 0 = session cookie.
    pub expires: i64,
    pub name: String,
    pub value: String,
}

impl FileCookie {
    pub(crate) fn to_cdp(&self) -> Value {
        let mut v = json!({
            "name": self.name, "value": self.value,
            "path": self.path, "secure": self.secure, "httpOnly": self.http_only,
        });
        if self.include_subdomains {
            v["domain"] = json!(self.domain);
        } else {
            // Host-only cookie (and the only form Chromium accepts for an IP address): give the
            // URL, not a domain.
            let scheme = if self.secure { "https" } else { "http" };
            v["url"] = json!(format!(
                "{scheme}://{}{}",
                self.domain.trim_start_matches('.'),
                self.path
            ));
        }
        if self.expires > 0 {
            v["expires"] = json!(self.expires);
        }
        v
    }
}

/// Parse Netscape cookies.txt text (what browser extensions and `curl -c` write).
pub(crate) fn parse_cookies_txt(text: &str, file: &Path) -> Result<Vec<FileCookie>, UserError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let (line, http_only) = match raw.strip_prefix("#HttpOnly_") {
            Some(rest) => (rest, true),
            None => (raw, false),
        };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 7 {
            return Err(UserError::Scenario {
                file: file.to_path_buf(),
                line: i + 1,
                column: 1,
                message: format!("expected 7 tab-separated fields, found {}", fields.len()),
                hint: "a Netscape cookies.txt line is: domain, include-subdomains (TRUE/FALSE), path, secure (TRUE/FALSE), expiry (epoch seconds), name, value — separated by tabs".into(),
            });
        }
        let expires = fields[4]
            .trim()
            .parse::<i64>()
            .map_err(|_| UserError::Scenario {
                file: file.to_path_buf(),
                line: i + 1,
                column: fields[..4].iter().map(|f| f.len() + 1).sum::<usize>() + 1,
                message: format!("expiry `{}` is not a number", fields[4]),
                hint: "write seconds since 1970, or 0 for a session cookie".into(),
            })?;
        out.push(FileCookie {
            domain: fields[0].to_string(),
            include_subdomains: fields[1].eq_ignore_ascii_case("TRUE"),
            path: fields[2].to_string(),
            secure: fields[3].eq_ignore_ascii_case("TRUE"),
            http_only,
            expires,
            name: fields[5].to_string(),
            value: fields[6].to_string(),
        });
    }
    Ok(out)
}

pub(crate) fn read_cookie_file(path: &Path) -> Result<Vec<FileCookie>, UserError> {
    let text = crate::input::read_to_string(path, crate::input::Kind::CookieFile)?;
    parse_cookies_txt(&text, path)
}

/// Parse `--header "Name: value"` arguments, resolving `${ENV}` in values.
pub(crate) fn parse_headers(args: &[String]) -> Result<Vec<(String, String)>, UserError> {
    parse_headers_with(args, &HashMap::new())
}

/// [`parse_headers`], with `vars` looked up before the environment (the tests set no process-wide
/// variable: `set_var` races other threads).
fn parse_headers_with(
    args: &[String],
    vars: &HashMap<String, String>,
) -> Result<Vec<(String, String)>, UserError> {
    args.iter()
        .map(|a| {
            let (name, value) = a.split_once(':').ok_or_else(|| {
                UserError::input(
                    format!("--header `{a}` has no `:`"),
                    "write --header 'Name: value' (use ${ENV} for secrets, e.g. --header 'Authorization: Bearer ${JIRA_TOKEN}')",
                )
            })?;
            let name = name.trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(UserError::input(
                    format!("--header `{a}`: `{name}` is not a header name"),
                    "header names are letters, digits and dashes",
                ));
            }
            let value = crate::scenario::substitute(value.trim(), vars).map_err(|var| {
                UserError::input(
                    format!("--header {name}: environment variable `{var}` is not set"),
                    format!("export {var}=... before running"),
                )
            })?;
            Ok((name.to_string(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_txt_with_httponly_prefix_and_comments() {
        let text = "# Netscape HTTP Cookie File\n\n#HttpOnly_jira.example.com\tFALSE\t/\tTRUE\t0\tJSESSIONID\tABC\n.example.com\tTRUE\t/\tFALSE\t1893456000\tseraph.rememberme.cookie\txyz\n";
        let c = parse_cookies_txt(text, Path::new("c.txt")).unwrap();
        assert_eq!(c.len(), 2);
        assert!(c[0].http_only && c[0].secure);
        assert_eq!(c[0].name, "JSESSIONID");
        assert_eq!(c[1].expires, 1_893_456_000);
        assert_eq!(c[1].to_cdp()["expires"], 1_893_456_000);
    }

    proptest::proptest! {
        #[test]
        fn cookie_parser_never_panics(text in "\\PC{0,300}") {
            let _ = parse_cookies_txt(&text, Path::new("c.txt"));
        }
        #[test]
        fn header_parser_never_panics(h in "\\PC{0,80}") {
            let _ = parse_headers(&[h]);
        }
    }

    #[test]
    fn malformed_cookie_line_names_the_line() {
        let err = parse_cookies_txt("a\tb\n", Path::new("c.txt")).unwrap_err();
        assert!(err.to_string().starts_with("c.txt:1:1:"), "{err}");
    }

    #[test]
    fn headers_resolve_env_and_reject_bad_names() {
        let vars = HashMap::from([("CDNPROBE_TEST_TOKEN_X".to_string(), "t0k".to_string())]);
        let h = parse_headers_with(
            &["Authorization: Bearer ${CDNPROBE_TEST_TOKEN_X}".into()],
            &vars,
        )
        .unwrap();
        assert_eq!(
            h,
            vec![("Authorization".to_string(), "Bearer t0k".to_string())]
        );
        assert!(parse_headers(&["nocolon".into()]).is_err());
        assert!(parse_headers(&["Bad Name: x".into()]).is_err());
        assert!(parse_headers(&["X: ${CDNPROBE_SURELY_UNSET_Q}".into()]).is_err());
    }
}

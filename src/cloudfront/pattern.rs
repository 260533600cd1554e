//! CloudFront path-pattern matching: the one matcher the edge and classification share.
//!
//! Rules (DESIGN.md "Behaviors"): `*` matches zero or more characters including `/`, `?` exactly
//! one character; matching is case-sensitive; the leading `/` of a pattern is optional; the query
//! string is never part of the match; the lone `*` (default behavior) matches every path.

/// CloudFront rejects longer path patterns.
pub(crate) const MAX_PATTERN_LEN: usize = 255;

/// Does `path` (a URL path, optionally with `?query`) match the CloudFront `pattern`?
pub fn matches(pattern: &str, path: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let pattern: Vec<char> = with_leading_slash(pattern).chars().collect();
    let path: Vec<char> = with_leading_slash(path).chars().collect();
    glob(&pattern, &path)
}

/// Why a pattern would be refused by CloudFront, if it would.
pub fn validate(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("the path pattern is empty".into());
    }
    if pattern.chars().count() > MAX_PATTERN_LEN {
        return Err(format!(
            "the path pattern is {} characters long; CloudFront allows at most {MAX_PATTERN_LEN}",
            pattern.chars().count()
        ));
    }
    Ok(())
}

fn with_leading_slash(s: &str) -> String {
    if s.starts_with('/') {
        s.to_string()
    } else {
        format!("/{s}")
    }
}

/// Does `name` match a whitelist entry that may hold `*`/`?` wildcards (legacy cookie
/// whitelists accept them: `AWSALB*`)? Case-sensitive, like cookie names.
pub(crate) fn wildcard_matches(entry: &str, name: &str) -> bool {
    let p: Vec<char> = entry.chars().collect();
    let t: Vec<char> = name.chars().collect();
    glob(&p, &t)
}

/// Iterative wildcard match with single-star backtracking: linear in practice, never recursive,
/// so hostile patterns cannot blow the stack.
fn glob(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_zero_or_more_characters_including_slash() {
        assert!(matches("/s/*", "/s/"));
        assert!(matches("/s/*", "/s/abc/def/batch.js"));
        assert!(matches("/secure/projectavatar*", "/secure/projectavatar"));
        assert!(matches("*.woff", "/s/x/_/download/adgs-icons.woff"));
        assert!(!matches("/s/*", "/secure/x"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(matches("/img?.png", "/img1.png"));
        assert!(!matches("/img?.png", "/img.png"));
        assert!(!matches("/img?.png", "/img12.png"));
        // One character, not one byte.
        assert!(matches("/caf?", "/café"));
    }

    #[test]
    fn matching_is_case_sensitive() {
        assert!(!matches("/S/*", "/s/batch.js"));
        assert!(!matches("/favicon.ico", "/FAVICON.ICO"));
    }

    #[test]
    fn leading_slash_on_the_pattern_is_optional() {
        assert!(matches("s/*", "/s/batch.js"));
        assert!(matches("robots.txt", "/robots.txt"));
        assert!(matches("/robots.txt", "robots.txt"));
    }

    #[test]
    fn query_string_is_not_part_of_the_match() {
        assert!(matches("/robots.txt", "/robots.txt?x=1"));
        assert!(matches("*.js", "/s/batch.js?locale=en-US"));
        assert!(!matches("*locale*", "/s/batch.js?locale=en-US"));
    }

    #[test]
    fn default_star_matches_every_path() {
        assert!(matches("*", "/"));
        assert!(matches("*", "/anything/at/all?q=1"));
        assert!(matches("*", ""));
    }

    #[test]
    fn patterns_longer_than_255_characters_are_refused() {
        assert!(validate(&"a".repeat(255)).is_ok());
        assert!(validate(&"a".repeat(256)).is_err());
        assert!(validate("").is_err());
    }

    #[test]
    fn many_stars_do_not_explode() {
        let pattern = "*a".repeat(40);
        let path = "a".repeat(39);
        assert!(!matches(&pattern, &path));
    }
}

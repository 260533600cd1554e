//! `aws cloudfront get-distribution-config` JSON (the AWS shape, read by `aws.rs`).

use std::path::Path;

use super::{ManagedOnly, aws, line_col, tree};
use crate::cloudfront::behavior::{BehaviorSet, ConfigFormat, ConfigInput};
use crate::error::UserError;

/// Parse the JSON of `aws cloudfront get-distribution-config` (`{"ETag", "DistributionConfig"}`)
/// or a bare `DistributionConfig`. Custom (non-managed) policies cannot be resolved from this
/// JSON: such a behavior gets console-default TTLs, an empty key, and a warning saying so.
pub fn from_distribution_json_str(text: &str, file: &Path) -> Result<BehaviorSet, UserError> {
    let root = tree::from_json(text).map_err(|e| UserError::Scenario {
        file: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: format!("not valid JSON: {e}"),
        hint: "save the output of `aws cloudfront get-distribution-config --id <ID>` unchanged"
            .into(),
    })?;
    let cfg = root.get("DistributionConfig").unwrap_or(&root);
    let hint = "expected the JSON of `aws cloudfront get-distribution-config --id <ID>` (or its DistributionConfig object)";
    let fname = file.display().to_string();
    let ctx = aws::Ctx {
        file: &fname,
        policies: &ManagedOnly,
    };
    if !matches!(cfg.v, tree::V::Map(_)) {
        return Err(bad_at(
            text,
            file,
            "DistributionConfig",
            0,
            0,
            "not a JSON object".into(),
            hint,
        ));
    }
    let (behaviors, extras) = aws::distribution(cfg, "DistributionConfig", &ctx)
        .map_err(|e| bad_at(text, file, &e.at, e.line, e.col, e.message, hint))?;
    let set = BehaviorSet::new(behaviors).with_input(ConfigInput {
        file: fname,
        format: ConfigFormat::DistributionConfig,
        error_responses: extras.error_responses,
        http2_to_origin: extras.http2_to_origin,
        origin_waf_allows: Vec::new(),
    });
    Ok(set)
}

/// A structural error at `at` (a path such as `CacheBehaviors.Items[1]`): the node's own line
/// when known, else found by scanning the text.
pub(super) fn bad_at(
    text: &str,
    file: &Path,
    at: &str,
    line: u32,
    col: u32,
    message: String,
    hint: &str,
) -> UserError {
    let pos = if line > 0 {
        Some((line as usize, col.max(1) as usize))
    } else {
        json_position(text, at)
    };
    match pos {
        Some((line, column)) => UserError::Scenario {
            file: file.to_path_buf(),
            line,
            column,
            message: format!("{at}: {message}"),
            hint: hint.into(),
        },
        None => UserError::input(format!("{}: {at}: {message}", file.display()), hint),
    }
}

/// 1-based line and column of the value at `path` (`CacheBehaviors.Items[2].PathPattern`,
/// matched as a suffix of the full path, so a `DistributionConfig` wrapper does not matter), by
/// scanning the text: serde_json's `Value` keeps no positions.
pub(super) fn json_position(text: &str, path: &str) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut stack: Vec<String> = Vec::new(); // path segments of the containers we are in
    let mut index: Vec<Option<usize>> = Vec::new(); // array element counters (None: object)
    let mut key: Option<String> = None;
    let mut i = 0;
    let full = |stack: &[String]| stack.join(".").replace(".[", "[");
    let hit = |p: &str| p == path || p.ends_with(&format!(".{path}"));
    while i < b.len() {
        let c = b[i];
        // The segment a value starting here gets.
        let seg = || -> Option<String> {
            match index.last() {
                Some(Some(n)) => Some(format!("[{n}]")),
                Some(None) => key.clone(),
                None => None,
            }
        };
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let s = String::from_utf8_lossy(&b[start + 1..i.min(b.len())]).into_owned();
                // A key if a ':' follows.
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if matches!(index.last(), Some(None)) && j < b.len() && b[j] == b':' {
                    key = Some(s);
                    i = j;
                } else if let Some(sg) = seg() {
                    let mut p = stack.clone();
                    p.push(sg);
                    if hit(&full(&p)) {
                        return Some(line_col(text, start));
                    }
                }
            }
            b'{' | b'[' => {
                if let Some(sg) = seg() {
                    stack.push(sg);
                    if hit(&full(&stack)) {
                        return Some(line_col(text, i));
                    }
                } else {
                    stack.push(String::new());
                }
                index.push(if c == b'[' { Some(0) } else { None });
                key = None;
            }
            b'}' | b']' => {
                stack.pop();
                index.pop();
            }
            b',' => {
                if let Some(Some(n)) = index.last_mut() {
                    *n += 1;
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'-' => {
                if let Some(sg) = seg() {
                    let mut p = stack.clone();
                    p.push(sg);
                    if hit(&full(&p)) {
                        return Some(line_col(text, i));
                    }
                }
                while i + 1 < b.len()
                    && (b[i + 1].is_ascii_alphanumeric() || matches!(b[i + 1], b'.' | b'-' | b'+'))
                {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

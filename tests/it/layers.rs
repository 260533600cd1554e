//! The pipeline's shape, checked on the source: each module may use only modules in layers below
//! its own (or its own layer's earlier members), the command line's types (`cli`) are read by the
//! command layer alone, and network I/O happens only in the browser, verify, lab and command
//! layers. `src/lib.rs` promises this; the test keeps the promise true.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may use any module with a lower rank.
const LAYERS: &[(&str, u32)] = &[
    ("error", 0),
    ("output", 0),
    ("input", 1),
    ("interrupt", 1),
    ("exchange", 1),
    ("redact", 2),
    ("scenario", 2),
    ("progress", 2),
    ("logging", 3),
    ("auth", 3),
    ("har", 3),
    ("cloudfront", 3),
    ("classify", 4),
    ("browser", 4),
    ("lab", 4),
    ("journey", 5),
    ("diagnose", 5),
    ("verify", 6),
    ("report", 7),
    ("history", 8),
    ("metrics", 9),
    ("cli", 10),
    ("commands", 11),
];

/// Where network I/O may live: the browser, verification's replays and health check, the lab's
/// servers, and the commands (the metrics push).
const NETWORK_LAYERS: &[&str] = &["browser", "verify", "lab", "commands"];

/// What network I/O looks like in this code base.
const NETWORK_APIS: &[&str] = &[
    "reqwest::",
    "hyper::",
    "hyper_util::",
    "tokio::net::",
    "std::net::TcpStream",
    "TcpListener",
    "UdpSocket",
    "tokio_tungstenite::",
];

fn rank(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its unit tests (a test module may use anything) and without
/// comments (a comment may name anything).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            // Not inside a string on this line: an even number of quotes before it.
            Some(i) if l[..i].matches('"').count() % 2 == 0 => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file's code names through `crate::`: `crate::a::b`, `crate::{a, b::c}`.
fn crate_uses(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// Each source file with the top-level module it belongs to (`src/report/html.rs` -> `report`).
fn modules() -> Vec<(PathBuf, String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(&src).unwrap();
            let top = rel.components().next()?.as_os_str().to_str()?.to_string();
            let module = top.trim_end_matches(".rs").to_string();
            if module == "lib" || module == "main" {
                return None;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            Some((path, module, code(&text)))
        })
        .collect()
}

#[test]
fn every_module_has_a_layer() {
    let unknown: BTreeSet<String> = modules()
        .into_iter()
        .map(|(_, m, _)| m)
        .filter(|m| rank(m).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "modules without a layer (add them to LAYERS in tests/it/layers.rs): {unknown:?}"
    );
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let mut upward = Vec::new();
    for (path, module, code) in modules() {
        let Some(own) = rank(&module) else { continue };
        for used in crate_uses(&code) {
            if used == module {
                continue;
            }
            if let Some(r) = rank(&used)
                && r > own
            {
                upward.push(format!(
                    "{} ({module}, layer {own}) uses {used} (layer {r})",
                    path.display()
                ));
            }
        }
    }
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn only_the_commands_read_the_command_line_types() {
    let readers: Vec<String> = modules()
        .into_iter()
        .filter(|(_, m, code)| m != "commands" && m != "cli" && crate_uses(code).contains("cli"))
        .map(|(p, _, _)| p.display().to_string())
        .collect();
    assert!(readers.is_empty(), "cli used outside commands: {readers:?}");
}

#[test]
fn network_io_lives_in_the_browser_verify_lab_and_command_layers() {
    let mut found = Vec::new();
    for (path, module, code) in modules() {
        if NETWORK_LAYERS.contains(&module.as_str()) {
            continue;
        }
        for api in NETWORK_APIS {
            if code.contains(api) {
                found.push(format!("{} ({module}) uses {api}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "network I/O outside its layers:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_and_plain_uses_and_ignores_comments() {
    let code = code(
        "use crate::{classify::Record, report};\nuse crate::verify::Options;\n// crate::cli in a comment\nlet x = \"// not a comment\"; crate::lab::x();\n#[cfg(test)]\nmod tests {\n    use crate::commands;\n}\n",
    );
    let uses = crate_uses(&code);
    assert_eq!(
        uses.into_iter().collect::<Vec<_>>(),
        ["classify", "lab", "report", "verify"]
    );
}

//! Real public HAR files of real sites, recorded by other people (tests/fixtures/har/real/README.md
//! names each file's source, commit and licence). They keep the classifier and the findings honest
//! on CDNs and exporters nobody here wrote:
//!
//! - every response's cache status, as the classifier reads it, must agree with an independent
//!   reading written here from DESIGN.md's "Other caches' headers" (a few lines per dialect, in
//!   the order "nearest the client decides");
//! - `cdnprobe analyze` of each file, all anonymous public pages, must raise no error finding and
//!   exit 0: a smoke check that fails a healthy site is worse than none.

use std::collections::BTreeMap;
use std::path::PathBuf;

use cdnprobe::classify::{CacheOutcome, parse_cache_status};
use cdnprobe::exchange::Headers;

fn corpus() -> Vec<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/har/real"
    ));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "har"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus holds {} files", files.len());
    files
}

/// Hit, not a hit, or no statement: what a person reading the headers by DESIGN.md would say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reading {
    Hit,
    NotHit,
    Silent,
}

fn items(h: &Headers, name: &str) -> Vec<String> {
    h.get_all(name)
        .flat_map(|v| v.split([',', '\n']))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn yes(hit: bool) -> Reading {
    if hit { Reading::Hit } else { Reading::NotHit }
}

/// The independent reading. Deliberately naive: first dialect present wins, in the order of the
/// tiers nearest the client; within a list, the last entry (RFC 9211, Fastly, Wikimedia).
fn read(h: &Headers) -> Reading {
    let x_cache = items(h, "x-cache");
    if let Some(v) = x_cache.iter().rev().find(|v| v.contains("cloudfront")) {
        return yes(v.starts_with("hit") || v.starts_with("refreshhit"));
    }
    if let Some(v) = items(h, "cf-cache-status").last() {
        return yes(matches!(
            v.as_str(),
            "hit" | "stale" | "updating" | "revalidated"
        ));
    }
    let fastly = items(h, "x-served-by")
        .iter()
        .any(|s| s.starts_with("cache-"));
    if fastly && let Some(v) = x_cache.last() {
        return yes(v.starts_with("hit"));
    }
    for st in h
        .get_all("server-timing")
        .flat_map(|v| v.split([',', '\n']))
    {
        let st = st.to_ascii_lowercase().replace(' ', "");
        if let Some(desc) = st.strip_prefix("cdn-cache;desc=") {
            // REVALIDATE: the stale copy was confirmed by the origin and served, as an X-Cache
            // `REVALIDATE` or CloudFront's `RefreshHit` are.
            return yes(matches!(desc.trim_matches('"'), "hit" | "revalidate"));
        }
    }
    if let Some(v) = x_cache.last() {
        // `HIT from host`, `TCP_MISS`, `cp1065 frontend hit (3756)`, `cp5008 hit/35838`.
        let words: Vec<String> = v
            .split_whitespace()
            .map(|w| w.split('/').next().unwrap_or(w).to_string())
            .collect();
        let status = if words.first().is_some_and(|w| w.starts_with("cp")) {
            words.iter().skip(1).find(|w| *w != "frontend").cloned()
        } else {
            words.first().cloned()
        };
        if let Some(s) = status {
            return yes(matches!(
                s.as_str(),
                "hit" | "tcp_hit" | "tcp_mem_hit" | "tcp_ims_hit" | "revalidate" | "refresh_hit"
            ));
        }
    }
    for name in ["x-cache-status", "x-proxy-cache"] {
        if let Some(v) = items(h, name).last() {
            return yes(v.starts_with("hit") || v == "revalidated" || v == "stale");
        }
    }
    if let Some(v) = h.get_all("x-varnish").last() {
        return yes(v.split_whitespace().count() >= 2);
    }
    if h.get_all("via")
        .any(|v| v.to_ascii_lowercase().contains("varnish"))
        || h.get("age").is_some()
    {
        let age = h
            .get("age")
            .and_then(|a| a.split(',').next()?.trim().parse::<u64>().ok());
        return match age {
            Some(a) if a > 0 => Reading::Hit,
            _ => Reading::Silent,
        };
    }
    Reading::Silent
}

fn classifier(h: &Headers) -> Reading {
    let cs = parse_cache_status(h);
    match cs.status {
        s if s.is_hit() => Reading::Hit,
        CacheOutcome::None => Reading::Silent,
        CacheOutcome::Other => panic!("the classifier could not read {:?}", cs.raw),
        _ => Reading::NotHit,
    }
}

#[test]
fn every_response_cache_status_agrees_with_an_independent_reading() {
    let mut providers: BTreeMap<String, usize> = BTreeMap::new();
    let mut checked = 0;
    let mut disagreements = Vec::new();
    for file in corpus() {
        let exchanges = cdnprobe::har::import_file(&file).unwrap().unwrap();
        for ex in &exchanges {
            let h = &ex.response_headers;
            let (ours, theirs) = (classifier(h), read(h));
            checked += 1;
            if ours != theirs {
                disagreements.push(format!(
                    "{}: {} classifier {ours:?}, reading {theirs:?}: {:?}",
                    file.file_name().unwrap().to_string_lossy(),
                    ex.url,
                    parse_cache_status(h).raw
                ));
            }
            let p = parse_cache_status(h).provider;
            if p.as_str() != "none" {
                *providers.entry(p.as_str().to_string()).or_default() += 1;
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {checked} responses disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // At least 5 different CDNs/caches answered somewhere in the corpus.
    assert!(providers.len() >= 5, "{providers:?}");
    for named in [
        "cloudfront",
        "fastly",
        "cloudflare",
        "akamai",
        "squid",
        "tiered_varnish",
    ] {
        assert!(
            providers.contains_key(named),
            "{named} not seen: {providers:?}"
        );
    }
}

/// Every file is an anonymous public page of a healthy site: no error finding, exit 0.
#[test]
fn analyze_raises_no_error_on_anonymous_public_pages() {
    let out = tempfile::tempdir().unwrap();
    let mut failed = Vec::new();
    for file in corpus() {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let dir = out.path().join(&name);
        let output = crate::common::cdnprobe()
            .arg("analyze")
            .arg(&file)
            .arg("--out")
            .arg(&dir)
            .arg("--quiet")
            .output()
            .unwrap();
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                .unwrap();
        let errors: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .map(|f| format!("{} ({})", f["id"], f["evidence"][0]["url"]))
            .collect();
        if output.status.code() != Some(0) || !errors.is_empty() {
            failed.push(format!(
                "{name}: exit {:?}, errors {errors:?}",
                output.status.code()
            ));
        }
        // Which hosts were judged as the product, and why, is in the report.
        assert!(
            report["product_hosts"]
                .as_array()
                .is_some_and(|h| !h.is_empty() && h.iter().all(|x| x["why"].as_str().is_some())),
            "{name}: {:#}",
            report["product_hosts"]
        );
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

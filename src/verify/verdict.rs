//! The verdict of one sampled URL from its loads, and of a behavior from its URLs. Pure.
//!
//! A verdict is read from what the loads *showed* (cache status, POP, HTTP status, cookies sent
//! and set), never from what the configuration promises, so that a wrong configuration cannot talk
//! the tool into a pass. The configuration only supplies the expectation and the words of the
//! reason (which cookies are in the key, which TTL rule applies).
//!
//! Order of the rules, first match wins:
//! 1. `LEAK`: a hit on a dynamic (HTML/REST) URL the user did not explicitly expect to be cached, or
//!    a hit that carries a session `Set-Cookie` (the edge replays one user's session to others).
//! 2. `ERROR`: any load failed, was 5xx, or the edge said `Error`/`LimitExceeded`.
//! 3. `NO_CDN`: no load carried any cache evidence (no CDN header, no `Age`).
//! 4. no hit at all: `BYPASS` if the behavior is expected to bypass; else `INCONCLUSIVE` when the
//!    loads cannot tell (fewer than two, or every load on a different POP — each POP has its own
//!    cache); else `NEVER_HITS`, with the causes the loads show.
//! 5. a hit: `WARM` when the first load already hit, else `HITS`.
//!
//! `INCONCLUSIVE` meets every expectation (see [`meets`]): it is not evidence of a problem, and
//! failing a deployment on how an anycast CDN spread the loads would make the check flaky. It is
//! shown in yellow with what to do (`--repeat`).

use crate::classify::{CacheOutcome, CacheStatus, EdgeTreatment, Provider};
use crate::cloudfront::{Expect, NameSet};

use super::Verdict;

/// What one load of a sampled URL showed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Attempt {
    /// `journey` for the capture's own first load, `repeat N` for the verification loads.
    pub label: String,
    pub cache: CacheStatus,
    pub http_status: Option<u16>,
    /// Transport failure (no response at all), or the browser's error for a failed load.
    pub failure: Option<String>,
    /// Not requested in this round (browser mode: the reloaded page did not ask for it again),
    /// or not sent (request cap).
    pub absent: bool,
    /// The load failed on a limit of cdnprobe's own (see `Failure::tool_limit`): it is no
    /// evidence about the site and is judged like an absent load, with the limit named.
    pub tool_limit: Option<String>,
    /// Cookies sent: (name, fingerprint of the value). Values never leave memory.
    pub sent_cookies: Vec<(String, u64)>,
    /// Cookies the response set: (name, fingerprint of the value).
    pub set_cookies: Vec<(String, u64)>,
    /// Fingerprint of the URL requested (cache busters make it differ between loads).
    pub url_fp: u64,
    /// What the edge should do with this response under its behavior (TTL rules), when known.
    pub edge: Option<EdgeTreatment>,
    /// The request carried `Authorization`.
    pub authorization: bool,
    /// The request's `Cache-Control`/`Pragma` line that asks for `no-cache` (a HAR recorded with
    /// "Disable cache"), if any.
    pub request_cache_control: Option<String>,
    /// The response's `Cache-Control` and `Vary`, for the rules of caches other than CloudFront.
    pub response_cache_control: Option<String>,
    pub vary: Option<String>,
}

impl Attempt {
    /// The fingerprint of the value of cookie `name` this load sent, if it sent one.
    fn sent_cookie(&self, name: &str) -> Option<u64> {
        self.sent_cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    fn hit(&self) -> bool {
        self.cache.status.is_hit()
    }

    fn error(&self) -> bool {
        self.tool_limit.is_none() && self.failure.is_some()
            || self.http_status.is_some_and(|s| s >= 500)
            || matches!(
                self.cache.status,
                CacheOutcome::Error | CacheOutcome::LimitExceeded
            )
    }

    /// One letter for tables: `M H H`.
    pub(crate) fn letter(&self) -> &'static str {
        if self.absent {
            "."
        } else if self.tool_limit.is_some() {
            "?"
        } else if self.failure.is_some() && self.http_status.is_none() {
            "!"
        } else {
            letter(self.cache.status)
        }
    }

    /// The status word stored in `Sequence.statuses`.
    pub(crate) fn status_word(&self) -> String {
        if self.absent {
            "absent".into()
        } else if self.tool_limit.is_some() {
            "tool-limit".into()
        } else if self.failure.is_some() && self.http_status.is_none() {
            "failed".into()
        } else {
            self.cache.status.as_str().into()
        }
    }
}

/// One letter per cache outcome (tables and reasons).
pub(crate) fn letter(s: CacheOutcome) -> &'static str {
    match s {
        CacheOutcome::Hit => "H",
        CacheOutcome::RefreshHit => "R",
        CacheOutcome::Stale => "S",
        CacheOutcome::Miss => "M",
        CacheOutcome::Expired => "X",
        CacheOutcome::Bypass => "B",
        CacheOutcome::Error => "E",
        CacheOutcome::LimitExceeded => "L",
        CacheOutcome::Redirect => "D",
        CacheOutcome::Generated => "G",
        CacheOutcome::Denied => "Z",
        CacheOutcome::Other => "?",
        CacheOutcome::None => "-",
    }
}

/// The letter for a `Sequence.statuses` word (inverse of [`Attempt::status_word`]).
pub(crate) fn letter_for_word(word: &str) -> &'static str {
    match word {
        "absent" => ".",
        "failed" => "!",
        _ => word.parse::<CacheOutcome>().map_or("?", letter),
    }
}

/// What the verdict needs to know about the sampled URL and its behavior.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Subject {
    pub expect: Expect,
    /// The expectation was given explicitly (`--expect`, or `expect` in the behaviors file).
    pub explicit: bool,
    /// Per-user content (HTML, REST): must not be served from a shared cache.
    pub dynamic: bool,
    /// The cookies the behavior puts in its cache key.
    pub key_cookies: NameSet,
    /// Query parameters the page changes on every load (cache busters) that are in the key.
    pub busters: Vec<String>,
    /// `host:port` that served the URL when it is not one of the distribution's hosts.
    pub off_distribution: Option<String>,
}

impl Default for Subject {
    fn default() -> Self {
        Subject {
            expect: Expect::Hit,
            explicit: false,
            dynamic: false,
            key_cookies: NameSet::None,
            busters: Vec::new(),
            off_distribution: None,
        }
    }
}

/// A verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Judgement {
    pub verdict: Verdict,
    pub reason: String,
}

fn judged(verdict: Verdict, reason: impl Into<String>) -> Judgement {
    Judgement {
        verdict,
        reason: reason.into(),
    }
}

/// Does a verdict meet an expectation? `INCONCLUSIVE` does (see the module docs).
pub(crate) fn meets(expect: Expect, verdict: Verdict) -> bool {
    match verdict {
        Verdict::Hits | Verdict::Warm => expect == Expect::Hit,
        Verdict::Bypass => expect == Expect::Bypass,
        Verdict::Inconclusive => true,
        Verdict::Leak | Verdict::Error | Verdict::NoCdn | Verdict::NeverHits => false,
    }
}

/// Cookies whose value is a login session or a token: cached and replayed, they hand one user's
/// identity to others. Load-balancer stickiness cookies are not sessions.
///
/// Narrower on purpose than [`crate::redact::is_secret_name`] (which hides anything that might be
/// a secret, `*key*` and `*sig*` included): a `LEAK` verdict fails a pipeline, so it is only
/// called on names that are sessions or tokens by convention.
pub(crate) fn is_session_cookie(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "jsessionid",
        "jwt",
        "os_password",
        "password",
        "passwd",
        "pwd",
        "secret",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "api_key",
        "apikey",
        "api-key",
        "client_secret",
        "code_verifier",
        "sessionid",
        "session_id",
    ];
    let n = name.to_ascii_lowercase();
    if n.starts_with("awsalb") || n.starts_with("awselb") {
        return false;
    }
    EXACT.contains(&n.as_str())
        || n.starts_with("seraph.")
        || n.ends_with("token")
        || n.ends_with("token_key")
        || n.ends_with("tokenkey")
        || n.ends_with("password")
        || n.ends_with("secret")
}

/// `M H H` for a list of attempts.
pub(crate) fn letters(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(Attempt::letter)
        .collect::<Vec<_>>()
        .join(" ")
}

fn ordinal(i: usize) -> String {
    let n = i + 1;
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn names(list: &[String]) -> String {
    list.join(", ")
}

/// The verdict for one sampled URL from its loads (the journey's first load, then the repeats).
///
/// A load that failed on cdnprobe's own limit (`tool_limit`) is no evidence about the site: it is
/// left out like an absent load, and the reason names the limit. When no repeat load is left,
/// the verdict is `INCONCLUSIVE` (never `ERROR`: the browser loaded the URL).
pub(crate) fn judge(subject: &Subject, attempts: &[Attempt]) -> Judgement {
    let limited: Vec<&Attempt> = attempts.iter().filter(|a| a.tool_limit.is_some()).collect();
    let Some(first) = limited.first() else {
        return judge_loads(subject, attempts);
    };
    let limit = first.tool_limit.clone().unwrap_or_default();
    let repeats_left = attempts
        .iter()
        .skip(1)
        .any(|a| !a.absent && a.tool_limit.is_none());
    if !repeats_left {
        return judged(
            Verdict::Inconclusive,
            format!(
                "{} of {} loads could not be read ({}): {limit}",
                limited.len(),
                attempts.len(),
                letters(attempts)
            ),
        );
    }
    let rest: Vec<Attempt> = attempts
        .iter()
        .map(|a| {
            if a.tool_limit.is_some() {
                Attempt {
                    absent: true,
                    ..a.clone()
                }
            } else {
                a.clone()
            }
        })
        .collect();
    let mut j = judge_loads(subject, &rest);
    j.reason.push_str(&format!(
        "; {} load{} not judged: {limit}",
        limited.len(),
        if limited.len() == 1 { "" } else { "s" }
    ));
    j
}

fn judge_loads(subject: &Subject, attempts: &[Attempt]) -> Judgement {
    let mut j = judge_present_loads(subject, attempts);
    if let Some(note) = upstream_tier_note(attempts) {
        j.reason.push_str(&note);
    }
    j
}

/// A Miss that carries `Age` > 0 was not fetched from the origin just now: the object had been
/// in a cache behind the POP that long. With Origin Shield, "all other layers of the CloudFront
/// cache (edge locations and regional edge caches) can retrieve the object from Origin Shield"
/// (AWS, "Using Amazon CloudFront Origin Shield"); AWS names no `X-Cache` value for such an
/// answer, so the POP's own word (Miss) and `Age` are all a capture shows.
fn upstream_tier_note(attempts: &[Attempt]) -> Option<String> {
    let (i, age) = attempts.iter().enumerate().find_map(|(i, a)| {
        let age = a.cache.age.filter(|s| *s > 0)?;
        (!a.absent && a.cache.status == CacheOutcome::Miss).then_some((i, age))
    })?;
    Some(format!(
        "; the {} load was a Miss with Age {age}: served by a regional edge cache or Origin Shield (the object was {age} s old there), not by the origin",
        ordinal(i)
    ))
}

fn judge_present_loads(subject: &Subject, attempts: &[Attempt]) -> Judgement {
    let present: Vec<(usize, &Attempt)> = attempts
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.absent)
        .collect();
    let seq = letters(attempts);
    if present.is_empty() {
        return judged(
            Verdict::Inconclusive,
            "not loaded again: the reloaded pages did not request it (raise --max-requests, or use --mode replay)",
        );
    }

    // 1. LEAK
    for (i, a) in &present {
        if !a.hit() {
            continue;
        }
        let sessions = dedup(
            a.set_cookies
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| is_session_cookie(n))
                .collect(),
        );
        let page = subject.dynamic && !(subject.explicit && subject.expect == Expect::Hit);
        if !page && sessions.is_empty() {
            continue;
        }
        let cache = format!(
            "{}{}",
            raw_or_word(&a.cache),
            a.cache
                .age
                .map(|s| format!(", Age {s}"))
                .unwrap_or_default()
        );
        let replayed = format!(
            "the edge replays session cookie{} {} from its cache to everyone who loads this URL",
            if sessions.len() > 1 { "s" } else { "" },
            names(&sessions)
        );
        let reason = if page {
            let authenticated = a.sent_cookies.iter().any(|(n, _)| is_session_cookie(n));
            let mut r = format!(
                "{} page served from the edge cache on the {} load ({cache}): per-user content must not be cached — one user's page is served to others",
                if authenticated {
                    "authenticated"
                } else {
                    "dynamic"
                },
                ordinal(*i),
            );
            if !sessions.is_empty() {
                r.push_str(&format!("; {replayed}"));
            }
            r
        } else {
            format!(
                "the {} load was a cache hit ({cache}) that sets cookies: {replayed}",
                ordinal(*i)
            )
        };
        return judged(Verdict::Leak, reason);
    }

    // 2. ERROR
    let errors: Vec<&(usize, &Attempt)> = present.iter().filter(|(_, a)| a.error()).collect();
    if let Some((_, first)) = errors.first() {
        let what = if let Some(f) = &first.failure
            && first.http_status.is_none()
        {
            format!("no response: {f}")
        } else {
            let mut w = first
                .http_status
                .map(|s| format!("HTTP {s}"))
                .unwrap_or_else(|| "error".into());
            if let Some(raw) = &first.cache.raw {
                w.push_str(&format!(" ({})", first_line(raw)));
            }
            w
        };
        return judged(
            Verdict::Error,
            format!(
                "{} of {} loads failed ({seq}): {what}{}",
                errors.len(),
                present.len(),
                if first.cache.status == CacheOutcome::Error {
                    " — the edge could not get a good answer from the origin"
                } else {
                    ""
                }
            ),
        );
    }

    // 3. NO_CDN
    if present
        .iter()
        .all(|(_, a)| a.cache.provider == Provider::None)
    {
        if subject.expect == Expect::Bypass {
            // Nothing cached it, which is all `bypass` asks for.
            return judged(
                Verdict::Bypass,
                format!(
                    "not cached, as expected: no cache answered any of {} loads ({seq}; no X-Cache, Cache-Status, Age or CDN header), every one came from the origin",
                    present.len()
                ),
            );
        }
        let mut r = format!(
            "no cache evidence on any of {} loads (no X-Cache, Cache-Status, Age or CDN header): this URL does not come through the CDN",
            present.len()
        );
        if let Some(h) = &subject.off_distribution {
            r.push_str(&format!(
                "; it is served by {h}, not by the distribution's host"
            ));
        }
        return judged(Verdict::NoCdn, r);
    }

    // 4. no hit
    let first_hit = present.iter().find(|(_, a)| a.hit()).map(|(i, _)| *i);
    let Some(hit_at) = first_hit else {
        if subject.expect == Expect::Bypass {
            return judged(
                Verdict::Bypass,
                format!("not cached, as expected: every load went to the origin ({seq})"),
            );
        }
        let (causes, proven) = never_hits_causes(subject, &present);
        // A miss proves something only where the same POP got the same request (URL and key
        // cookies) a second time: each POP has its own cache.
        let keys: Vec<(Option<&str>, u64)> = present
            .iter()
            .map(|(_, a)| (a.cache.pop.as_deref(), request_key(a, subject)))
            .collect();
        let repeated = keys.iter().enumerate().any(|(i, k)| keys[..i].contains(k));
        if proven || repeated {
            return judged(
                Verdict::NeverHits,
                format!("never a hit ({seq}): {}", causes.join("; ")),
            );
        }
        if present.len() < 2 {
            return judged(
                Verdict::Inconclusive,
                format!("only one load ({seq}): cannot tell whether it would hit (raise --repeat)"),
            );
        }
        let mut pops: Vec<&str> = Vec::new();
        for (p, _) in &keys {
            let p = p.unwrap_or("?");
            if !pops.contains(&p) {
                pops.push(p);
            }
        }
        return judged(
            Verdict::Inconclusive,
            format!(
                "no hit ({seq}), but no POP received the same request twice (POPs {}): each POP has its own cache, so these misses prove nothing (raise --repeat)",
                pops.join(", ")
            ),
        );
    };

    // 5. hits
    let a = attempts[hit_at].clone();
    let detail = format!(
        "{}{}",
        a.cache
            .pop
            .as_deref()
            .map(|p| format!("POP {p}"))
            .unwrap_or_default(),
        a.cache
            .age
            .map(|s| format!("{}Age {s}", if a.cache.pop.is_some() { ", " } else { "" }))
            .unwrap_or_default()
    );
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    };
    let later_miss = present.iter().any(|(i, b)| {
        *i > hit_at
            && !b.hit()
            && b.cache.pop.is_some()
            && b.cache.pop == a.cache.pop
            && matches!(b.cache.status, CacheOutcome::Miss | CacheOutcome::Expired)
    });
    let tail = if later_miss {
        "; a later load missed again on the same POP: the object is evicted quickly or its key changes"
    } else {
        ""
    };
    let expect_note = if subject.expect == Expect::Bypass {
        " — but this behavior is expected to bypass the cache"
    } else {
        ""
    };
    if hit_at == present[0].0 {
        judged(
            Verdict::Warm,
            format!(
                "hit from the first load ({seq}){detail}: already in the edge cache{tail}{expect_note}"
            ),
        )
    } else {
        let key_note = other_key_before(subject, &present, &a, hit_at);
        judged(
            Verdict::Hits,
            format!(
                "miss, then hit on the {} load ({seq}){detail}{key_note}{tail}{expect_note}",
                ordinal(hit_at)
            ),
        )
    }
}

/// Why a hit came only on the 3rd load or later although the edge stored the 2nd: an earlier
/// load sent other values of cookies the behavior keys on (the journey's load on a page before
/// the login, typically), so it asked for another cached object. Empty when no such load.
fn other_key_before(
    subject: &Subject,
    present: &[(usize, &Attempt)],
    hit: &Attempt,
    hit_at: usize,
) -> String {
    if answered_by_other(present) {
        return String::new();
    }
    let hit_key = request_key(hit, subject);
    let mut labels: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (_, a) in present.iter().filter(|(i, a)| *i < hit_at && !a.hit()) {
        if a.url_fp != hit.url_fp || request_key(a, subject) == hit_key {
            continue;
        }
        let changed: Vec<String> = a
            .sent_cookies
            .iter()
            .chain(hit.sent_cookies.iter())
            .map(|(n, _)| n.clone())
            .filter(|n| subject.key_cookies.contains(n) && a.sent_cookie(n) != hit.sent_cookie(n))
            .collect();
        if !changed.is_empty() {
            labels.push(a.label.clone());
            names.extend(changed);
        }
    }
    if labels.is_empty() {
        return String::new();
    }
    let names = dedup(names);
    format!(
        ", as the {} load sent other values of the cookies in the cache key ({}) and asked for another cached object",
        dedup(labels).join(", "),
        names.join(", ")
    )
}

fn raw_or_word(c: &CacheStatus) -> String {
    c.raw
        .as_deref()
        .map(first_line)
        .unwrap_or_else(|| c.status.as_str().to_string())
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}

/// The request as the cache keys it: the URL and the cookies the behavior puts in its key.
fn request_key(a: &Attempt, subject: &Subject) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut cookies: Vec<&(String, u64)> = a
        .sent_cookies
        .iter()
        .filter(|(n, _)| subject.key_cookies.contains(n))
        .collect();
    cookies.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    a.url_fp.hash(&mut h);
    cookies.hash(&mut h);
    h.finish()
}

/// Why a URL that should hit never did, from what its loads show; `true` when a cause is proven
/// (not just "nothing changed").
fn never_hits_causes(subject: &Subject, present: &[(usize, &Attempt)]) -> (Vec<String>, bool) {
    let mut causes = Vec::new();
    if let Some((_, a)) = present
        .iter()
        .find(|(_, a)| a.cache.status == CacheOutcome::Bypass)
    {
        causes.push(format!(
            "the CDN reports it does not cache this ({})",
            raw_or_word(&a.cache)
        ));
    }
    // Cookies in the key whose value changes from one load to the next.
    let mut rotating = Vec::new();
    let mut seen_names: Vec<&str> = Vec::new();
    for (_, a) in present {
        for (n, _) in a.sent_cookies.iter().chain(a.set_cookies.iter()) {
            if !seen_names.contains(&n.as_str()) {
                seen_names.push(n);
            }
        }
    }
    for name in seen_names {
        // The behaviors' cache key is CloudFront's: another cache keys on what its own
        // configuration says (Varnish and nginx leave cookies out by default).
        if answered_by_other(present) || !subject.key_cookies.contains(name) {
            continue;
        }
        // What the repeats sent (the journey's own load may predate a login: a value that changed
        // once since then is not a rotation).
        let sent: Vec<u64> = present
            .iter()
            .filter(|(i, _)| *i > 0)
            .filter_map(|(_, a)| a.sent_cookie(name))
            .collect();
        let set: Vec<u64> = present
            .iter()
            .filter_map(|(_, a)| {
                a.set_cookies
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| *v)
            })
            .collect();
        let sent_changes = sent.len() > 1 && sent.windows(2).all(|w| w[0] != w[1]);
        let set_rotates = set.len() > 1 && set.windows(2).all(|w| w[0] != w[1]);
        if sent_changes || set_rotates {
            rotating.push(name.to_string());
        }
    }
    if !rotating.is_empty() {
        causes.push(format!(
            "cookie{} {} change{} on every load (each response sets a new value) and this behavior puts {} cookies in the cache key, so every request has a new key",
            if rotating.len() > 1 { "s" } else { "" },
            names(&rotating),
            if rotating.len() > 1 { "" } else { "s" },
            match &subject.key_cookies {
                NameSet::All => "all".to_string(),
                other => format!("the {}", other.describe()),
            }
        ));
    }
    if !subject.busters.is_empty() {
        causes.push(format!(
            "the page changes query parameter{} {} on every load, and the query string is in the cache key: every load is a new URL",
            if subject.busters.len() > 1 { "s" } else { "" },
            names(&subject.busters)
        ));
    }
    let answered_by = present
        .iter()
        .rev()
        .map(|(_, a)| a.cache.provider)
        .find(|p| *p != Provider::None)
        .unwrap_or(Provider::None);
    causes.extend(other_cache_causes(answered_by, present));
    if let Some(edge) = present.iter().rev().find_map(|(_, a)| a.edge.as_ref())
        && !edge.store
    {
        causes.push(format!(
            "by the TTL rules the edge does not store it: {}",
            edge.rule
        ));
    }
    let proven = !causes.is_empty();
    if causes.is_empty() {
        let pops: std::collections::BTreeSet<&str> = present
            .iter()
            .filter_map(|(_, a)| a.cache.pop.as_deref())
            .collect();
        causes.push(format!(
            "every load was a miss{}, and nothing in the request changed: {}",
            if pops.len() == 1 {
                format!(" on the same POP ({})", pops.iter().next().unwrap())
            } else {
                String::new()
            },
            if answered_by.is_other_cache() {
                format!(
                    "{} does not store it (check its configuration and the origin's Cache-Control/Expires)",
                    answered_by.display_name()
                )
            } else {
                "the edge does not store it (check the behavior's TTLs and the origin's Cache-Control/Expires)".to_string()
            }
        ));
    }
    (causes, proven)
}

fn answered_by_other(present: &[(usize, &Attempt)]) -> bool {
    present
        .iter()
        .any(|(_, a)| a.cache.provider.is_other_cache())
}

/// The cookie names the loads sent, in order, once each.
fn cookie_names(present: &[(usize, &Attempt)], set: bool) -> Vec<String> {
    dedup(
        present
            .iter()
            .flat_map(|(_, a)| if set { &a.set_cookies } else { &a.sent_cookies })
            .map(|(n, _)| n.clone())
            .collect(),
    )
}

/// Why a cache other than CloudFront did not store the URL, by that cache's own documented rules
/// (DESIGN.md "Other caches' headers"), each with the fix in that cache's terms.
fn other_cache_causes(cache: Provider, present: &[(usize, &Attempt)]) -> Vec<String> {
    let mut out = Vec::new();
    let sent = cookie_names(present, false);
    let set = cookie_names(present, true);
    let auth = present.iter().any(|(_, a)| a.authorization);
    let cc = present
        .iter()
        .find_map(|(_, a)| a.response_cache_control.clone())
        .filter(|c| {
            let c = c.to_ascii_lowercase();
            c.contains("private") || c.contains("no-store") || c.contains("no-cache")
        });
    let vary_star = present
        .iter()
        .any(|(_, a)| a.vary.as_deref().is_some_and(|v| v.trim() == "*"));
    let no_cache_request = present
        .iter()
        .find_map(|(_, a)| a.request_cache_control.clone());
    // What the origin's own headers forbid comes first: it decides whatever the request carried.
    if cache.is_other_cache()
        && let Some(cc) = &cc
    {
        out.push(format!(
            "the origin sends `Cache-Control: {cc}`, which {} obeys: send `Cache-Control: public, max-age=31536000` on versioned static resources",
            cache.display_name()
        ));
    }
    let response_forbids = cc.is_some() || !set.is_empty() || vary_star;
    match cache {
        Provider::Varnish => {
            // A pass looks like a miss in Varnish's headers (one X-Varnish id): the cookies are
            // the cause only when nothing in the response forbids storing it.
            if (!sent.is_empty() || auth) && !response_forbids {
                out.push(format!(
                    "Varnish's builtin VCL passes every request that carries a Cookie or Authorization header (never looks it up, never stores it), and these loads sent {}: unset the cookies for static paths in vcl_recv, e.g. `if (req.url ~ \"^/s/\") {{ unset req.http.Cookie; }}`",
                    if sent.is_empty() {
                        "Authorization".to_string()
                    } else {
                        format!("cookie{} {}", if sent.len() > 1 { "s" } else { "" }, names(&sent))
                    }
                ));
            }
            if !set.is_empty() {
                out.push(format!(
                    "Varnish's builtin VCL makes a response with Set-Cookie uncacheable (hit-for-miss for 2 minutes), and the origin sets {}: `unset beresp.http.Set-Cookie;` for static paths in vcl_backend_response, or stop the origin setting cookies there",
                    names(&set)
                ));
            }
        }
        Provider::Nginx => {
            if !set.is_empty() {
                out.push(format!(
                    "nginx's proxy_cache does not store a response that sets cookies, and the origin sets {}: `proxy_ignore_headers Set-Cookie; proxy_hide_header Set-Cookie;` in the static location, or stop the origin setting cookies there",
                    names(&set)
                ));
            }
            if vary_star {
                out.push(
                    "nginx does not store a response with `Vary: *`: remove it at the origin"
                        .to_string(),
                );
            }
        }
        Provider::ApacheModCache | Provider::Squid => {
            if let Some(line) = &no_cache_request {
                out.push(format!(
                    "{} obeys the request's `{line}` and goes to the origin: the loads asked for a fresh copy (a browser with its cache disabled does); {}",
                    cache.display_name(),
                    if cache == Provider::Squid {
                        "`refresh_pattern ... ignore-reload` (or `reload_into_ims on`) makes Squid serve from cache anyway"
                    } else {
                        "`CacheIgnoreCacheControl On` makes Apache serve from cache anyway"
                    }
                ));
            }
            if cache == Provider::ApacheModCache
                && let Some(detail) = present
                    .iter()
                    .rev()
                    .find_map(|(_, a)| a.cache.raw.as_deref())
                    .and_then(|raw| {
                        raw.lines()
                            .find(|l| l.to_ascii_lowercase().starts_with("x-cache-detail"))
                    })
            {
                out.push(format!("Apache says why: {detail}"));
            }
        }
        _ => {}
    }
    out
}

/// How bad a verdict is, for a behavior's overall verdict (worst URL wins). A proven Miss -> Hit
/// outranks an inconclusive URL: the behavior demonstrably caches.
fn severity(v: Verdict) -> u8 {
    match v {
        Verdict::Leak => 7,
        Verdict::Error => 6,
        Verdict::NoCdn => 5,
        Verdict::NeverHits => 4,
        Verdict::Hits => 3,
        Verdict::Warm => 2,
        Verdict::Inconclusive => 1,
        Verdict::Bypass => 0,
    }
}

/// A behavior's verdict from its URLs' verdicts: the worst one, with its first URL's reason and
/// how many URLs share it.
pub(crate) fn aggregate(per_url: &[Judgement]) -> Judgement {
    let Some(worst) = per_url.iter().max_by_key(|j| severity(j.verdict)) else {
        return judged(
            Verdict::Inconclusive,
            "no URL of this behavior could be loaded again",
        );
    };
    let worst = per_url
        .iter()
        .find(|j| j.verdict == worst.verdict)
        .expect("present");
    let same = per_url
        .iter()
        .filter(|j| j.verdict == worst.verdict)
        .count();
    if per_url.len() == 1 {
        return worst.clone();
    }
    let mut others: Vec<(Verdict, usize)> = Vec::new();
    for j in per_url.iter().filter(|j| j.verdict != worst.verdict) {
        match others.iter_mut().find(|(v, _)| *v == j.verdict) {
            Some((_, n)) => *n += 1,
            None => others.push((j.verdict, 1)),
        }
    }
    // Every distinct reason of the worst verdict, most common first: a reason must describe every
    // sequence it summarises (21 URLs `M H H H` and 14 `M M H H` are two stories).
    // The POP and Age of a hit differ from URL to URL without changing the story.
    let story = |r: &str| -> String {
        match r.find(" (POP ").or_else(|| r.find(" (Age ")) {
            Some(i) => match r[i..].find(')') {
                Some(j) => format!("{}{}", &r[..i], &r[i + j + 1..]),
                None => r.to_string(),
            },
            None => r.to_string(),
        }
    };
    let mut reasons: Vec<(String, usize)> = Vec::new();
    for j in per_url.iter().filter(|j| j.verdict == worst.verdict) {
        let st = story(&j.reason);
        match reasons.iter_mut().find(|(r, _)| *r == st) {
            Some((_, n)) => *n += 1,
            None => reasons.push((st, 1)),
        }
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    let told = if reasons.len() == 1 {
        worst.reason.clone()
    } else {
        const SHOWN: usize = 3;
        let mut parts: Vec<String> = reasons
            .iter()
            .take(SHOWN)
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        if reasons.len() > SHOWN {
            let rest: usize = reasons[SHOWN..].iter().map(|(_, n)| n).sum();
            parts.push(format!(
                "{rest} for {} other reasons",
                reasons.len() - SHOWN
            ));
        }
        parts.join("; ")
    };
    let mut reason = if same == per_url.len() {
        format!("all {} URLs: {told}", per_url.len())
    } else {
        format!(
            "{same} of {} URLs {}: {told}",
            per_url.len(),
            worst.verdict.as_str(),
        )
    };
    if !others.is_empty() {
        let o: Vec<String> = others
            .iter()
            .map(|(v, n)| format!("{n} {}", v.as_str()))
            .collect();
        reason.push_str(&format!(" (others: {})", o.join(", ")));
    }
    judged(worst.verdict, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::cache_status::parse;
    use crate::exchange::Headers;

    fn cf(x_cache: &str, pop: &str, age: Option<u64>) -> CacheStatus {
        let mut h = Headers::new();
        h.push("X-Cache", x_cache);
        h.push("X-Amz-Cf-Pop", pop);
        h.push("Via", "1.1 abc.cloudfront.net (CloudFront)");
        if let Some(a) = age {
            h.push("Age", a.to_string());
        }
        parse(&h)
    }

    fn at(status: &str, pop: &str) -> Attempt {
        let (x, age) = match status {
            "H" => ("Hit from cloudfront", Some(5)),
            "M" => ("Miss from cloudfront", None),
            "E" => ("Error from cloudfront", None),
            "R" => ("RefreshHit from cloudfront", Some(0)),
            other => panic!("{other}"),
        };
        Attempt {
            label: "x".into(),
            cache: cf(x, pop, age),
            http_status: Some(if status == "E" { 502 } else { 200 }),
            ..Default::default()
        }
    }

    fn seq(s: &str) -> Vec<Attempt> {
        s.split(' ').map(|l| at(l, "FRA56-P1")).collect()
    }

    fn static_hit() -> Subject {
        Subject {
            key_cookies: NameSet::All,
            ..Default::default()
        }
    }

    #[test]
    fn a_miss_with_age_was_served_by_a_tier_behind_the_pop_not_the_origin() {
        let mut loads = vec![
            at("M", "FRA56-P1"),
            at("M", "LHR62-C2"),
            at("H", "LHR62-C2"),
        ];
        loads[1].cache = cf("Miss from cloudfront", "LHR62-C2", Some(7));
        let j = judge(&static_hit(), &loads);
        assert_eq!(j.verdict, Verdict::Hits, "{}", j.reason);
        assert!(
            j.reason.contains(
                "the 2nd load was a Miss with Age 7: served by a regional edge cache or Origin Shield"
            ) && j.reason.contains("not by the origin"),
            "{}",
            j.reason
        );
        // A Miss without Age (or Age 0) says nothing of the kind.
        let j = judge(&static_hit(), &seq("M H H"));
        assert!(!j.reason.contains("Origin Shield"), "{}", j.reason);
        let mut loads = seq("M M");
        loads[1].cache = cf("Miss from cloudfront", "FRA56-P1", Some(0));
        assert!(
            !judge(&static_hit(), &loads)
                .reason
                .contains("Origin Shield")
        );
    }

    #[test]
    fn hits_miss_then_hit() {
        let j = judge(&static_hit(), &seq("M H H H"));
        assert_eq!(j.verdict, Verdict::Hits, "{}", j.reason);
        assert!(j.reason.contains("2nd load"), "{}", j.reason);
        assert!(j.reason.contains("M H H H"), "{}", j.reason);
        assert!(meets(Expect::Hit, j.verdict));
        assert!(!meets(Expect::Bypass, j.verdict));
        // A refresh hit is a hit too.
        assert_eq!(judge(&static_hit(), &seq("M R")).verdict, Verdict::Hits);
    }

    #[test]
    fn warm_hit_from_the_first_load() {
        let j = judge(&static_hit(), &seq("H H H"));
        assert_eq!(j.verdict, Verdict::Warm);
        assert!(meets(Expect::Hit, j.verdict));
        // Absent first loads do not count: the first *present* load decides.
        let mut a = seq("M H H");
        a[0].absent = true;
        assert_eq!(judge(&static_hit(), &a).verdict, Verdict::Warm);
    }

    #[test]
    fn never_hits_names_the_rotating_cookie() {
        let mut a = seq("M M M M");
        for (i, x) in a.iter_mut().enumerate() {
            x.sent_cookies = vec![("JSESSIONID".into(), 1), ("AWSALB".into(), 100 + i as u64)];
            x.set_cookies = vec![("AWSALB".into(), 200 + i as u64)];
        }
        let j = judge(&static_hit(), &a);
        assert_eq!(j.verdict, Verdict::NeverHits);
        assert!(j.reason.contains("AWSALB"), "{}", j.reason);
        assert!(
            !j.reason.contains("JSESSIONID"),
            "stable cookies are not blamed: {}",
            j.reason
        );
        // A cookie that changed once (a login between the journey's load and the repeats) is
        // not a rotation.
        let mut b = a.clone();
        for (i, x) in b.iter_mut().enumerate() {
            x.sent_cookies = vec![("atlassian.xsrf.token".into(), if i == 0 { 1 } else { 2 })];
            x.set_cookies.clear();
        }
        let jb = judge(&static_hit(), &b);
        assert!(!jb.reason.contains("xsrf"), "{}", jb.reason);
        assert!(
            j.reason.contains("all cookies in the cache key"),
            "{}",
            j.reason
        );
        assert!(!meets(Expect::Hit, j.verdict));
        // The same rotation is harmless when the key holds no cookies: then it is not blamed.
        let s = Subject {
            key_cookies: NameSet::None,
            ..Default::default()
        };
        let j = judge(&s, &a);
        assert_eq!(j.verdict, Verdict::NeverHits);
        assert!(!j.reason.contains("AWSALB"), "{}", j.reason);
    }

    #[test]
    fn never_hits_names_the_ttl_rule_and_the_buster() {
        let mut a = seq("M M M");
        a[2].edge = Some(EdgeTreatment {
            store: false,
            ttl_secs: 0,
            rule: "Expires at or before Date: already stale".into(),
        });
        let j = judge(&static_hit(), &a);
        assert_eq!(j.verdict, Verdict::NeverHits);
        assert!(j.reason.contains("already stale"), "{}", j.reason);
        let s = Subject {
            busters: vec!["_".into()],
            ..static_hit()
        };
        let j = judge(&s, &seq("M M M"));
        assert!(j.reason.contains("query parameter _"), "{}", j.reason);
        // Nothing to blame: say so, with the POP.
        let j = judge(&static_hit(), &seq("M M M"));
        assert!(j.reason.contains("same POP (FRA56-P1)"), "{}", j.reason);
    }

    #[test]
    fn bypass_when_expected() {
        let s = Subject {
            expect: Expect::Bypass,
            ..Default::default()
        };
        let j = judge(&s, &seq("M M M"));
        assert_eq!(j.verdict, Verdict::Bypass);
        assert!(meets(Expect::Bypass, j.verdict));
        assert!(!meets(Expect::Hit, j.verdict));
        // A static URL that hits although bypass is expected fails.
        let j = judge(&s, &seq("M H H"));
        assert_eq!(j.verdict, Verdict::Hits);
        assert!(j.reason.contains("expected to bypass"), "{}", j.reason);
        assert!(!meets(Expect::Bypass, j.verdict));
    }

    #[test]
    fn leak_on_a_cached_dynamic_page() {
        let s = Subject {
            expect: Expect::Bypass,
            dynamic: true,
            ..Default::default()
        };
        let mut a = seq("M H H");
        for x in &mut a {
            x.sent_cookies = vec![("JSESSIONID".into(), 7)];
        }
        a[1].set_cookies = vec![("atlassian.xsrf.token".into(), 3)];
        let j = judge(&s, &a);
        assert_eq!(j.verdict, Verdict::Leak);
        assert!(j.reason.contains("authenticated page"), "{}", j.reason);
        assert!(j.reason.contains("atlassian.xsrf.token"), "{}", j.reason);
        assert!(!meets(Expect::Bypass, j.verdict));
        assert!(!meets(Expect::Hit, j.verdict));
        // Explicitly expected to be cached: a hit is what the user asked for (but a cached
        // session cookie never is).
        assert_eq!(
            judge(
                &Subject {
                    expect: Expect::Hit,
                    explicit: true,
                    ..s.clone()
                },
                &a
            )
            .verdict,
            Verdict::Leak
        );
        a[1].set_cookies.clear();
        let s = Subject {
            expect: Expect::Hit,
            explicit: true,
            dynamic: true,
            ..Default::default()
        };
        assert_eq!(judge(&s, &a).verdict, Verdict::Hits);
        // Not explicit (derived from TTLs): still a leak.
        let s = Subject {
            explicit: false,
            ..s
        };
        assert_eq!(judge(&s, &a).verdict, Verdict::Leak);
    }

    #[test]
    fn leak_on_a_cached_session_set_cookie() {
        let mut a = seq("M H");
        a[1].set_cookies = vec![("JSESSIONID".into(), 1)];
        let j = judge(&static_hit(), &a);
        assert_eq!(j.verdict, Verdict::Leak);
        assert!(j.reason.contains("JSESSIONID"), "{}", j.reason);
        // A stickiness cookie on a hit is not a session leak.
        a[1].set_cookies = vec![("AWSALB".into(), 1)];
        assert_eq!(judge(&static_hit(), &a).verdict, Verdict::Hits);
        // A session cookie on a miss is not replayed by anyone.
        let mut b = seq("M M");
        b[0].set_cookies = vec![("JSESSIONID".into(), 1)];
        assert_ne!(judge(&static_hit(), &b).verdict, Verdict::Leak);
    }

    #[test]
    fn error_on_edge_error_5xx_or_no_response() {
        let j = judge(&static_hit(), &seq("E E E"));
        assert_eq!(j.verdict, Verdict::Error);
        assert!(j.reason.contains("HTTP 502"), "{}", j.reason);
        assert!(j.reason.contains("Error from cloudfront"), "{}", j.reason);
        assert!(!meets(Expect::Hit, j.verdict));
        // One failed load among hits is still an error.
        let mut a = seq("M H H");
        a[2].failure = Some("connection reset".into());
        a[2].http_status = None;
        let j = judge(&static_hit(), &a);
        assert_eq!(j.verdict, Verdict::Error);
        assert!(
            j.reason.contains("no response: connection reset"),
            "{}",
            j.reason
        );
        assert_eq!(a[2].letter(), "!");
        // An origin 503 that the edge passes as a Miss.
        let mut b = seq("M M");
        b[1].http_status = Some(503);
        assert_eq!(judge(&static_hit(), &b).verdict, Verdict::Error);
    }

    #[test]
    fn a_tool_limit_is_never_the_sites_error() {
        let limit = "the response head is larger than cdnprobe's replay client reads";
        let limited = |mut a: Attempt| {
            a.failure = Some("message head is too large".into());
            a.http_status = None;
            a.tool_limit = Some(limit.into());
            a
        };
        // Every repeat hit the limit: inconclusive, naming the limit.
        let mut a = seq("M H H H");
        for x in &mut a[1..] {
            *x = limited(x.clone());
        }
        let j = judge(&static_hit(), &a);
        assert_eq!(j.verdict, Verdict::Inconclusive, "{}", j.reason);
        assert!(j.reason.contains(limit), "{}", j.reason);
        assert!(j.reason.contains("M ? ? ?"), "{}", j.reason);
        assert!(meets(Expect::Hit, j.verdict));
        assert_eq!(a[1].status_word(), "tool-limit");
        // Some repeats left: judged on those, the limit still named.
        let mut b = seq("M H H H");
        b[3] = limited(b[3].clone());
        let j = judge(&static_hit(), &b);
        assert_eq!(j.verdict, Verdict::Hits, "{}", j.reason);
        assert!(j.reason.contains("1 load not judged"), "{}", j.reason);
    }

    #[test]
    fn no_cdn_without_any_cache_evidence() {
        let a: Vec<Attempt> = (0..3)
            .map(|_| Attempt {
                http_status: Some(200),
                ..Default::default()
            })
            .collect();
        let s = Subject {
            off_distribution: Some("127.0.0.1:8081".into()),
            ..static_hit()
        };
        let j = judge(&s, &a);
        assert_eq!(j.verdict, Verdict::NoCdn);
        assert!(j.reason.contains("127.0.0.1:8081"), "{}", j.reason);
        assert!(!meets(Expect::Hit, j.verdict));
        assert!(!meets(Expect::Bypass, j.verdict));
        assert_eq!(letters(&a), "- - -");
    }

    #[test]
    fn inconclusive_when_every_load_is_on_a_new_pop() {
        let a = vec![at("M", "FRA56-P1"), at("M", "AMS1-C1"), at("M", "LHR3-P2")];
        let j = judge(&static_hit(), &a);
        assert_eq!(j.verdict, Verdict::Inconclusive, "{}", j.reason);
        assert!(j.reason.contains("AMS1-C1"), "{}", j.reason);
        assert!(meets(Expect::Hit, j.verdict));
        // A POP seen twice without a hit is evidence: never hits.
        let a = vec![at("M", "FRA56-P1"), at("M", "AMS1-C1"), at("M", "FRA56-P1")];
        assert_eq!(judge(&static_hit(), &a).verdict, Verdict::NeverHits);
        // Round-robin POPs with a healthy edge: a hit once a POP comes round again.
        let a = vec![
            at("M", "FRA56-P1"),
            at("M", "AMS1-C1"),
            at("H", "FRA56-P1"),
            at("H", "AMS1-C1"),
        ];
        assert_eq!(judge(&static_hit(), &a).verdict, Verdict::Hits);
        // The same POP twice, but the request changed in between (a login changed the cookies
        // in the key): still nothing proven.
        let mut a = vec![at("M", "FRA56-P1"), at("M", "AMS1-C1"), at("M", "FRA56-P1")];
        a[0].sent_cookies = vec![("JSESSIONID".into(), 1)];
        a[1].sent_cookies = vec![("JSESSIONID".into(), 2)];
        a[2].sent_cookies = vec![("JSESSIONID".into(), 2)];
        let j = judge(&static_hit(), &a);
        assert_eq!(j.verdict, Verdict::Inconclusive, "{}", j.reason);
        assert!(j.reason.contains("same request twice"), "{}", j.reason);
        // ... unless a cause is proven (here a buster): then the POPs do not matter.
        let s = Subject {
            busters: vec!["_".into()],
            ..static_hit()
        };
        assert_eq!(judge(&s, &a).verdict, Verdict::NeverHits);
        // One load only.
        assert_eq!(
            judge(&static_hit(), &seq("M")).verdict,
            Verdict::Inconclusive
        );
        // Nothing loaded.
        let mut a = seq("M M");
        a.iter_mut().for_each(|x| x.absent = true);
        let j = judge(&static_hit(), &a);
        assert_eq!(j.verdict, Verdict::Inconclusive);
        assert_eq!(letters(&a), ". .");
    }

    #[test]
    fn a_first_load_with_other_key_cookies_explains_a_late_hit() {
        // The journey loaded it on the login page; the repeats carry the session cookie, which
        // the behavior keys on: M M H H with nothing wrong.
        let mut a = seq("M M H H");
        a[0].label = "journey".into();
        a[0].sent_cookies = vec![("atlassian.xsrf.token".into(), 1)];
        for (i, x) in a.iter_mut().enumerate().skip(1) {
            x.label = format!("repeat {i}");
            x.sent_cookies = vec![("atlassian.xsrf.token".into(), 1), ("JSESSIONID".into(), 2)];
        }
        let j = judge(&static_hit(), &a);
        assert_eq!(j.verdict, Verdict::Hits);
        assert!(
            j.reason.contains(
                "as the journey load sent other values of the cookies in the cache key (JSESSIONID)"
            ),
            "{}",
            j.reason
        );
        // Keyed on no cookie: the same loads are one object, and nothing is claimed.
        let s = Subject {
            key_cookies: NameSet::None,
            ..static_hit()
        };
        assert!(!judge(&s, &a).reason.contains("cache key"));
    }

    #[test]
    fn later_miss_on_the_same_pop_is_noted() {
        let j = judge(&static_hit(), &seq("M H M"));
        assert_eq!(j.verdict, Verdict::Hits);
        assert!(
            j.reason.contains("missed again on the same POP"),
            "{}",
            j.reason
        );
    }

    #[test]
    fn a_behaviors_reason_tells_every_sequence_it_summarises() {
        let s = static_hit();
        let mut per_url = vec![judge(&s, &seq("M H H H")); 3];
        per_url.push(judge(&s, &seq("M M H H")));
        let j = aggregate(&per_url);
        assert_eq!(j.verdict, Verdict::Hits);
        assert!(
            j.reason
                .starts_with("all 4 URLs: 3 miss, then hit on the 2nd load (M H H H)"),
            "{}",
            j.reason
        );
        assert!(
            j.reason
                .contains("1 miss, then hit on the 3rd load (M M H H)"),
            "{}",
            j.reason
        );
        assert!(!j.reason.contains("Age"), "{}", j.reason);
        // One story: told once, with the first URL's POP and Age.
        let j = aggregate(&vec![judge(&s, &seq("M H H H")); 2]);
        assert_eq!(
            j.reason,
            "all 2 URLs: miss, then hit on the 2nd load (M H H H) (POP FRA56-P1, Age 5)"
        );
    }

    #[test]
    fn behavior_takes_the_worst_url() {
        let h = Judgement {
            verdict: Verdict::Hits,
            reason: "h".into(),
        };
        let w = Judgement {
            verdict: Verdict::Warm,
            reason: "w".into(),
        };
        let n = Judgement {
            verdict: Verdict::NeverHits,
            reason: "cookie AWSALB".into(),
        };
        let i = Judgement {
            verdict: Verdict::Inconclusive,
            reason: "pops".into(),
        };
        let j = aggregate(&[h.clone(), w.clone(), n.clone(), h.clone()]);
        assert_eq!(j.verdict, Verdict::NeverHits);
        assert!(
            j.reason
                .starts_with("1 of 4 URLs NEVER_HITS: cookie AWSALB"),
            "{}",
            j.reason
        );
        assert!(j.reason.contains("2 HITS, 1 WARM"), "{}", j.reason);
        assert_eq!(aggregate(&[w.clone(), h.clone()]).verdict, Verdict::Hits);
        assert_eq!(aggregate(&[w.clone(), w.clone()]).verdict, Verdict::Warm);
        assert!(
            aggregate(&[w.clone(), w])
                .reason
                .starts_with("all 2 URLs: w")
        );
        // A proven hit outranks an inconclusive URL.
        assert_eq!(aggregate(&[i.clone(), h]).verdict, Verdict::Hits);
        assert_eq!(aggregate(&[i]).verdict, Verdict::Inconclusive);
        assert_eq!(aggregate(&[]).verdict, Verdict::Inconclusive);
    }

    #[test]
    fn session_cookie_names() {
        assert!(is_session_cookie("JSESSIONID"));
        assert!(is_session_cookie("seraph.rememberme.cookie"));
        assert!(!is_session_cookie("AWSALB"));
        assert!(!is_session_cookie("AWSALBCORS"));
        assert!(!is_session_cookie("theme"));
    }
}

//! `--mode browser`: reload the journey's pages in Chromium and read the samples' loads from what
//! the reloaded pages fetched.
//!
//! Each journey gets a fresh page whose browser context is given the journey's cookies (from its
//! [`Jar`]), its HTTP cache emptied before every load (never disabled: that adds `no-cache`
//! request headers Apache and Squid obey) and every request that is not GET or HEAD failed before
//! it leaves the browser. The pages reloaded are a small set covering every
//! sample (greedy: the page that loaded the most not-yet-covered samples first), `--repeat` times
//! each; their cost (requests per load, from the capture) counts against `--max-requests`, and
//! pages that do not fit are left out (their samples show as not loaded, `.`).
//!
//! A sample is found in a round by its URL, else by its identity without cache busters (a page
//! that busts its caches asks for a new URL on every load — exactly what this mode must show).
//!
//! The never-repeat rules of replay hold here too (`sample::is_unsafe`: a logout, a request
//! carrying an `atl_token`): such a page is never chosen for a reload, and any such request a
//! reloaded page makes (a script's fetch, a redirect) is failed in the browser before it leaves.
//! Reloading a page is repeating its requests; a reload that logged the journey's session out or
//! replayed a form token would be the tool acting on the site, not observing it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::jar::Jar;
use super::sample::{self, Sample};
use crate::browser::Browser;
use crate::exchange::Exchange;

pub struct ReloadOptions {
    pub repeat: usize,
    pub timeout: Duration,
    pub max_requests: usize,
}

pub struct Reloaded {
    /// Per sample (same order), per round: index into `exchanges`, `None` when not loaded.
    pub loads: Vec<Vec<Option<usize>>>,
    /// Everything the reloaded pages fetched, phase `repeat N`.
    pub exchanges: Vec<Exchange>,
    pub notes: Vec<String>,
}

/// The reload exchange that is `s` in this round, if any.
pub fn find(s: &Sample, round: &[(usize, &Exchange)]) -> Option<usize> {
    let su = url::Url::parse(&s.url).ok()?;
    let busters: BTreeSet<String> = s.busters.iter().cloned().collect();
    let same_method = |e: &Exchange| e.method.eq_ignore_ascii_case(&s.method);
    if let Some((i, _)) = round.iter().find(|(_, e)| same_method(e) && e.url == s.url) {
        return Some(*i);
    }
    if let Some((i, _)) = round.iter().find(|(_, e)| {
        same_method(e)
            && url::Url::parse(&e.url).is_ok_and(|u| sample::identity(&u, &busters) == s.identity)
    }) {
        return Some(*i);
    }
    // Same path and the same parameter names, and only one such URL: the page's new URL for it.
    let names = |u: &url::Url| -> BTreeSet<String> {
        u.query_pairs().map(|(k, _)| k.into_owned()).collect()
    };
    let want = names(&su);
    let cands: Vec<usize> = round
        .iter()
        .filter(|(_, e)| same_method(e))
        .filter(|(_, e)| {
            url::Url::parse(&e.url).is_ok_and(|u| {
                u.host_str() == su.host_str()
                    && u.port_or_known_default() == su.port_or_known_default()
                    && u.path() == su.path()
                    && names(&u) == want
            })
        })
        .map(|(i, _)| *i)
        .collect();
    (cands.len() == 1 && !want.is_empty()).then(|| cands[0])
}

/// Pick pages covering every sample of one session: `(page, cost)`, the page covering the most
/// samples first; and the samples no page covers.
/// Never reload this page (see the module docs).
fn unsafe_page(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| sample::is_unsafe(&u))
}

/// Pick pages covering every sample of one session: `(page, cost)`, the page covering the most
/// samples first; and the samples no page covers. A page whose reload would be an action is
/// never picked.
fn cover(
    samples: &[(usize, &Sample)],
    captured: &[Exchange],
    pages: &[Option<String>],
) -> (Vec<(String, usize)>, Vec<usize>) {
    // Which pages loaded each sample (by identity), and what a page costs.
    let busters = sample::busters(captured);
    let mut loaded_on: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut cost: BTreeMap<String, usize> = BTreeMap::new();
    let mut first_seen: Vec<String> = Vec::new();
    let mut visits: HashMap<String, usize> = HashMap::new();
    for i in sample::time_order(captured) {
        let Some(p) = &pages[i] else { continue };
        let ex = &captured[i];
        if ex.url == *p && ex.resource_type.eq_ignore_ascii_case("document") {
            *visits.entry(p.clone()).or_default() += 1;
        }
        if !first_seen.contains(p) && !unsafe_page(p) {
            first_seen.push(p.clone());
        }
        *cost.entry(p.clone()).or_default() += 1;
        if let Ok(u) = url::Url::parse(&ex.url) {
            let b = busters
                .get(&(
                    crate::exchange::host_port(&u).unwrap_or_default(),
                    u.path().to_string(),
                ))
                .cloned()
                .unwrap_or_default();
            loaded_on
                .entry(sample::identity(&u, &b))
                .or_default()
                .insert(p.clone());
        }
    }
    let per_load =
        |p: &str| cost.get(p).copied().unwrap_or(1) / visits.get(p).copied().unwrap_or(1).max(1);
    let mut uncovered: Vec<usize> = samples.iter().map(|(n, _)| *n).collect();
    let mut chosen: Vec<String> = Vec::new();
    let mut orphans = Vec::new();
    while !uncovered.is_empty() {
        let mut best: Option<(String, usize)> = None;
        for p in &first_seen {
            if chosen.contains(p) {
                continue;
            }
            let n = uncovered
                .iter()
                .filter(|k| {
                    let s = samples.iter().find(|(n, _)| n == *k).unwrap().1;
                    loaded_on.get(&s.identity).is_some_and(|ps| ps.contains(p))
                })
                .count();
            if n > 0 && best.as_ref().is_none_or(|(_, m)| n > *m) {
                best = Some((p.clone(), n));
            }
        }
        let Some((p, _)) = best else {
            orphans.append(&mut uncovered);
            break;
        };
        uncovered.retain(|k| {
            let s = samples.iter().find(|(n, _)| n == k).unwrap().1;
            !loaded_on.get(&s.identity).is_some_and(|ps| ps.contains(&p))
        });
        chosen.push(p);
    }
    // Greedy order (most samples covered first): the cap drops from the end.
    let out: Vec<(String, usize)> = chosen
        .into_iter()
        .map(|p| {
            let c = per_load(&p).max(1);
            (p, c)
        })
        .collect();
    (out, orphans)
}

pub async fn reload(
    browser: &Browser,
    samples: &[Sample],
    captured: &[Exchange],
    jars: &HashMap<String, Arc<Mutex<Jar>>>,
    opts: &ReloadOptions,
    progress: &(dyn Fn(String) + Sync),
) -> anyhow::Result<Reloaded> {
    let pages = sample::pages(captured);
    let mut out = Reloaded {
        loads: vec![vec![None; opts.repeat]; samples.len()],
        exchanges: Vec::new(),
        notes: Vec::new(),
    };
    let mut sessions: BTreeMap<&str, Vec<(usize, &Sample)>> = BTreeMap::new();
    for (n, s) in samples.iter().enumerate() {
        sessions.entry(s.session.as_str()).or_default().push((n, s));
    }
    let mut used = 0usize;
    let mut sessions_left = sessions.len();
    for (session, list) in sessions {
        let (mut chosen, orphans) = cover(&list, captured, &pages);
        let skipped: BTreeSet<&str> = captured
            .iter()
            .zip(&pages)
            .filter(|(e, _)| sample::session_of(&e.phase) == session)
            .filter_map(|(_, p)| p.as_deref())
            .filter(|p| unsafe_page(p))
            .collect();
        if !skipped.is_empty() {
            out.notes.push(format!(
                "browser mode: {} page(s) of {session} not reloaded: loading them again would be an action (logout, atl_token): {}",
                skipped.len(),
                skipped.iter().map(|p| short(p)).collect::<Vec<_>>().join(", ")
            ));
        }
        if !orphans.is_empty() {
            out.notes.push(format!(
                "browser mode: {} sampled URL(s) of {session} were not loaded by any page; they are not verified",
                orphans.len()
            ));
        }
        // Fit the reloads into this journey's share of the cap: drop the pages covering the
        // fewest samples first.
        let share = opts.max_requests.saturating_sub(used) / sessions_left.max(1);
        sessions_left -= 1;
        let fits =
            |c: &[(String, usize)]| c.iter().map(|(_, n)| n).sum::<usize>() * opts.repeat <= share;
        if !fits(&chosen) {
            let all = chosen.len();
            while !chosen.is_empty() && !fits(&chosen) {
                chosen.pop();
            }
            out.notes.push(format!(
                "request cap: browser mode reloads {} of {all} page(s) of {session} within --max-requests {} (raise it to verify every sampled URL)",
                chosen.len(),
                opts.max_requests
            ));
        }
        if chosen.is_empty() {
            continue;
        }
        // Reload in the order the journey visited them.
        let visit = sample::time_order(captured);
        let first_visit = |p: &str| {
            visit
                .iter()
                .position(|&i| captured[i].url == p)
                .unwrap_or(usize::MAX)
        };
        chosen.sort_by_key(|(p, _)| first_visit(p));
        let origins: Vec<url::Url> = captured
            .iter()
            .filter(|e| sample::session_of(&e.phase) == session)
            .filter_map(|e| url::Url::parse(&e.url).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .collect();
        let page = browser.new_page().await?;
        if let Some(jar) = jars.get(session) {
            let cookies = jar.lock().unwrap().cdp_cookies(&origins);
            if let Err(e) = page.set_cookies(cookies).await {
                out.notes.push(format!(
                    "browser mode: could not restore the cookies of {session}: {e}"
                ));
            }
        }
        page.only_get_and_head(unsafe_page).await?;
        for k in 1..=opts.repeat {
            page.recorder.set_phase(format!("repeat {k}"));
            for (p, _) in &chosen {
                progress(format!(
                    "verifying: {session} reload {k}/{}: {}",
                    opts.repeat,
                    short(p)
                ));
                // Every reload as a first-time visitor: an empty HTTP cache, so each resource
                // goes to the edge, with nothing the tool adds to the requests.
                if let Err(e) = page.clear_browser_cache().await {
                    tracing::debug!(target: "cdnprobe::verify", "clearing the browser cache: {e}");
                }
                if let Err(e) = page.goto(p, opts.timeout).await {
                    out.notes.push(format!(
                        "browser mode: reload {k} of a page of {session} failed: {e}"
                    ));
                }
            }
            let round = page.recorder.take_exchanges();
            used += round.len();
            let base = out.exchanges.len();
            out.exchanges.extend(round);
            let indexed: Vec<(usize, &Exchange)> = out.exchanges[base..]
                .iter()
                .enumerate()
                .map(|(i, e)| (base + i, e))
                .collect();
            for (n, s) in &list {
                out.loads[*n][k - 1] = find(s, &indexed);
            }
        }
        page.close().await;
    }
    Ok(out)
}

fn short(u: &str) -> String {
    url::Url::parse(u)
        .map(|x| x.path().to_string())
        .unwrap_or_else(|_| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::AssetKind;

    fn ex(url: &str) -> Exchange {
        Exchange {
            url: url.into(),
            method: "GET".into(),
            ..Default::default()
        }
    }

    fn sample(url: &str, busters: &[&str]) -> Sample {
        let u = url::Url::parse(url).unwrap();
        let b: BTreeSet<String> = busters.iter().map(|s| s.to_string()).collect();
        Sample {
            dist: 0,
            behavior: 0,
            pattern: "/s/*".into(),
            first: 0,
            url: url.into(),
            method: "GET".into(),
            kind: AssetKind::Js,
            dynamic: false,
            session: "j".into(),
            busters: b.iter().cloned().collect(),
            off_distribution: None,
            page: None,
            identity: sample::identity(&u, &b),
        }
    }

    #[test]
    fn pages_that_are_actions_are_never_chosen_for_a_reload() {
        let at = |url: &str, rt: &str, t: f64| Exchange {
            url: url.into(),
            method: "GET".into(),
            resource_type: rt.into(),
            status: Some(200),
            phase: "j#1 goto".into(),
            timing: crate::exchange::Timing {
                start_ms: t,
                ..Default::default()
            },
            ..Default::default()
        };
        let captured = vec![
            at("http://h/", "Document", 1.0),
            at("http://h/s/a.css", "Stylesheet", 2.0),
            at("http://h/logout", "Document", 3.0),
            at("http://h/s/b.css", "Stylesheet", 4.0),
            at("http://h/secure/Vote.jspa?atl_token=t1", "Document", 5.0),
            at("http://h/s/c.css", "Stylesheet", 6.0),
            // b.css again, on a safe page: that page covers it.
            at("http://h/browse/A-1", "Document", 7.0),
            at("http://h/s/b.css", "Stylesheet", 8.0),
        ];
        let pages = sample::pages(&captured);
        let samples = [
            sample("http://h/s/a.css", &[]),
            sample("http://h/s/b.css", &[]),
            sample("http://h/s/c.css", &[]),
        ];
        let list: Vec<(usize, &Sample)> = samples.iter().enumerate().collect();
        let (chosen, orphans) = cover(&list, &captured, &pages);
        let chosen: Vec<&str> = chosen.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(chosen, vec!["http://h/", "http://h/browse/A-1"]);
        // c.css was only loaded on the atl_token page: not verified rather than repeated.
        assert_eq!(orphans, vec![2]);
        assert!(unsafe_page("http://h/logout"));
        assert!(unsafe_page("http://h/rest/x?atl_token=abc"));
        assert!(!unsafe_page("http://h/s/a.css"));
    }

    #[test]
    fn finds_the_sample_by_url_then_without_its_buster() {
        let round = [
            ex("http://h/s/a.js?locale=en"),
            ex("http://h/s/b.js?locale=en&_=2000000000002"),
            ex("http://h/img/x.png?id=1"),
            ex("http://h/img/x.png?id=2"),
        ];
        let r: Vec<(usize, &Exchange)> =
            round.iter().enumerate().map(|(i, e)| (i + 10, e)).collect();
        assert_eq!(
            find(&sample("http://h/s/a.js?locale=en", &[]), &r),
            Some(10)
        );
        assert_eq!(
            find(
                &sample("http://h/s/b.js?locale=en&_=2000000000001", &["_"]),
                &r
            ),
            Some(11)
        );
        // Unknown buster, but the only URL of that path with those parameters.
        assert_eq!(
            find(&sample("http://h/s/b.js?locale=en&_=1", &[]), &r),
            Some(11)
        );
        // Two candidates: no guessing.
        assert_eq!(find(&sample("http://h/img/x.png?id=3", &[]), &r), None);
        assert_eq!(find(&sample("http://h/s/c.js", &[]), &r), None);
    }
}

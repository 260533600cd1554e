//! The bundled journeys in a real Chromium against the embedded lab: they complete in both
//! topologies, and the seed's faults visibly change what is captured.

use crate::common;

use cdnprobe::Exchange;
use cdnprobe::journey::{Journey, bundled_journeys, run_journey};
use cdnprobe::lab::{self, Fault, LabOptions, Topology};
use cdnprobe::progress::Progress;
use common::{block_on, browser};

/// Run one bundled journey (`jira-smoke` / `confluence-smoke`) through a fresh lab.
async fn capture(topology: Topology, faults: Vec<Fault>, journey: &str) -> Vec<Exchange> {
    let lab = lab::start(LabOptions {
        topology,
        faults,
        ..Default::default()
    })
    .await
    .unwrap();
    let scenario = bundled_journeys()
        .into_iter()
        .find(|s| s.name == journey)
        .unwrap();
    let product = if journey.starts_with("jira") {
        lab::Product::Jira
    } else {
        lab::Product::Confluence
    };
    let j = Journey::new(scenario, lab.url(product).to_string());
    let out = tempfile::tempdir().unwrap();
    let (result, exchanges, counts, err) = run_journey(
        browser().await,
        &j,
        &lab.journey_env(),
        out.path(),
        &Progress::hidden(),
    )
    .await
    .unwrap();
    lab.shutdown().await;
    assert!(
        err.is_none(),
        "journey {journey} failed: {err:?}\n{result:#?}"
    );
    assert!(result.ok);
    assert!(counts.request_will_be_sent_extra_info > 0);
    exchanges
}

fn is_s(e: &Exchange) -> bool {
    e.path().contains("/s/") && e.path().contains("/_/download/")
}

fn x_cache(e: &Exchange) -> &str {
    e.response_headers.get("x-cache").unwrap_or("")
}

#[test]
fn both_journeys_complete_through_the_proxy_topology_and_s_resources_hit() {
    block_on(async {
        for journey in ["jira-smoke", "confluence-smoke"] {
            let ex = capture(Topology::Proxy, vec![], journey).await;
            let s: Vec<_> = ex.iter().filter(|e| is_s(e)).collect();
            assert!(
                s.len() >= 10,
                "{journey}: /s/ resources captured: {}",
                s.len()
            );
            assert!(s.iter().all(|e| e.status == Some(200)), "{journey}");
            // A first-time visitor: each /s/ URL reaches the edge once (a Miss: the lab starts
            // empty); the later pages reuse it from the browser's own cache, marked so. The
            // edge's Hits are verification's job (repeat loads), not the journey's.
            let mut fetched: Vec<&str> = s
                .iter()
                .filter(|e| !e.from_browser_cache())
                .map(|e| e.url.as_str())
                .collect();
            let n = fetched.len();
            fetched.sort();
            fetched.dedup();
            assert_eq!(
                fetched.len(),
                n,
                "{journey}: an /s/ URL reached the network twice"
            );
            assert!(
                s.iter()
                    .filter(|e| !e.from_browser_cache())
                    .all(|e| x_cache(e) == "Miss from cloudfront"),
                "{journey}: first loads on an empty edge are Misses"
            );
            assert!(
                s.iter().any(|e| e.from_browser_cache()),
                "{journey}: later pages reuse /s/ resources from the browser cache"
            );
            // Fonts referenced from the CSS were fetched and loaded.
            assert!(ex.iter().any(|e| e.resource_type == "Font"
                && e.status == Some(200)
                && e.failure.is_none()));
            // Pages are dynamic: never cached.
            assert!(
                ex.iter()
                    .filter(|e| e.resource_type == "Document")
                    .all(|e| x_cache(e) != "Hit from cloudfront")
            );
        }
    });
}

#[test]
fn both_journeys_complete_in_the_cdn_host_topology_with_cross_origin_fonts() {
    block_on(async {
        for journey in ["jira-smoke", "confluence-smoke"] {
            let ex = capture(Topology::CdnHost, vec![], journey).await;
            let doc = ex.iter().find(|e| e.resource_type == "Document").unwrap();
            let fonts: Vec<_> = ex.iter().filter(|e| e.resource_type == "Font").collect();
            assert!(!fonts.is_empty(), "{journey}: fonts captured");
            for f in &fonts {
                assert_ne!(
                    f.host(),
                    doc.host(),
                    "{journey}: fonts come from the CDN host"
                );
                assert!(
                    f.request_headers.get("origin").is_some(),
                    "cross-origin font sends Origin"
                );
                assert!(
                    f.failure.is_none(),
                    "{journey}: font {} failed: {:?}",
                    f.url,
                    f.failure
                );
            }
        }
    });
}

#[test]
fn alb_stickiness_means_s_never_hits_and_awsalb_rotates() {
    block_on(async {
        let ex = capture(Topology::Proxy, vec![Fault::AlbStickiness], "jira-smoke").await;
        let s: Vec<_> = ex.iter().filter(|e| is_s(e)).collect();
        assert!(s.len() >= 10);
        assert!(
            s.iter().all(|e| x_cache(e) == "Miss from cloudfront"),
            "no /s/ hit with AWSALB in the key"
        );
        let awsalb: std::collections::BTreeSet<_> = s
            .iter()
            .flat_map(|e| e.response_headers.get_all("set-cookie"))
            .filter(|c| c.starts_with("AWSALB="))
            .collect();
        assert!(awsalb.len() >= 2, "AWSALB rotates: {awsalb:?}");
        assert!(s.iter().skip(1).any(|e| {
            e.request_headers
                .get("cookie")
                .is_some_and(|c| c.contains("AWSALB="))
        }));
    });
}

#[test]
fn expires_now_means_s_never_hits() {
    block_on(async {
        let ex = capture(Topology::Proxy, vec![Fault::ExpiresNow], "jira-smoke").await;
        let s: Vec<_> = ex.iter().filter(|e| is_s(e)).collect();
        assert!(s.iter().all(|e| x_cache(e) == "Miss from cloudfront"));
        assert!(
            s.iter()
                .all(|e| e.response_headers.get("expires") == e.response_headers.get("date"))
        );
    });
}

#[test]
fn font_502_shows_as_502_from_the_edge() {
    block_on(async {
        let ex = capture(Topology::Proxy, vec![Fault::Font502], "jira-smoke").await;
        let fonts: Vec<_> = ex.iter().filter(|e| e.resource_type == "Font").collect();
        assert!(!fonts.is_empty());
        assert!(
            fonts
                .iter()
                .all(|e| e.status == Some(502) && x_cache(e) == "Error from cloudfront")
        );
    });
}

#[test]
fn cors_missing_blocks_cross_origin_fonts() {
    block_on(async {
        let ex = capture(Topology::CdnHost, vec![Fault::CorsMissing], "jira-smoke").await;
        let fonts: Vec<_> = ex.iter().filter(|e| e.resource_type == "Font").collect();
        assert!(!fonts.is_empty());
        for f in fonts {
            let failure = f.failure.as_ref().expect("blocked");
            assert_eq!(
                failure.cors_error.as_deref(),
                Some("MissingAllowOriginHeader"),
                "{}",
                f.url
            );
        }
    });
}

//! Observed behavior: the seed's admins add one custom response header per behavior to see which
//! rule served a response. Where the header names another behavior than the configuration
//! predicts, the configuration given is stale or its patterns are ordered differently.

use super::evidence::{cap, ev, group_by, header_lines, plural};
use super::headers::distinct_urls;
use super::{Ctx, Finding, ids};
use crate::classify::Serving;

/// `behavior-mismatch`: the behavior header names a different behavior than the prediction.
pub(crate) fn behavior_mismatch(ctx: &Ctx) -> Vec<Finding> {
    let hits = ctx.records.iter().filter_map(|r| {
        let observed = r.class.observed_behavior.as_deref()?;
        let dist = ctx.dist_for(&r.url)?;
        let Serving {
            index: predicted, ..
        } = dist.behavior_for(&r.url)?;
        (dist.behavior_named(observed) != Some(predicted)).then_some(r)
    });
    group_by(hits, |r| Some((r.class.behavior.clone(), r.class.observed_behavior.clone())))
        .into_iter()
        .filter_map(|((behavior, observed), rs)| {
            let observed = observed.unwrap_or_default();
            let dist = ctx.dist_for(&rs[0].url)?;
            let header = dist.behavior_header.as_deref()?;
            let Serving { index: idx, behavior: b, .. } = dist.behavior_for(&rs[0].url)?;
            let predicted_label = b.name.clone();
            let known = dist.behavior_named(&observed);
            let evidence = distinct_urls(&rs)
                .into_iter()
                .map(|r| {
                    let mut lines = header_lines(&r.response_headers, header);
                    lines.push(format!(
                        "predicted: {predicted_label} (behavior {} of the configuration)",
                        idx + 1
                    ));
                    ev(r, lines)
                })
                .collect();
            let mut f = ids::BEHAVIOR_MISMATCH.finding(
                behavior.clone(),
                format!(
                    "{} say {header}: {observed}, but the configuration given predicts {predicted_label}. {}",
                    plural(rs.len(), "response", "responses"),
                    match known {
                        Some(i) => format!(
                            "{observed} is behavior {} of the configuration: the live distribution orders its patterns differently, \
                             or the configuration is stale. Findings below use the predicted behavior.",
                            i + 1
                        ),
                        None => format!(
                            "No behavior of the configuration answers to {observed}: the configuration given is not the live one."
                        ),
                    }
                ),
                cap(evidence),
            );
            f.title = format!("Served by {observed}, configuration predicts {predicted_label}");
            Some(f)
        })
        .collect()
}

#[cfg(test)]
mod tests {

    use crate::diagnose::diagnose;
    use crate::diagnose::testkit::*;

    fn dist() -> crate::classify::Distribution {
        let mut d = seed();
        d.behavior_header = Some("X-Lab-Behavior".into());
        d
    }

    #[test]
    fn observed_behavior_is_recorded_beside_the_prediction() {
        let d = dist();
        let r = Rec::static_ok(S_JS, "Miss")
            .resp("X-Lab-Behavior", "#1 /s/*")
            .record(Some(&d));
        assert_eq!(r.class.behavior.as_deref(), Some("/s/*"));
        assert_eq!(r.class.observed_behavior.as_deref(), Some("#1 /s/*"));
        // Matching labels, patterns and numbers are not findings.
        let recs = records(
            &[
                Rec::static_ok(S_JS, "Miss").resp("X-Lab-Behavior", "#1 /s/*"),
                Rec::static_ok(S_CSS, "Miss").resp("X-Lab-Behavior", "/s/*"),
                Rec::page_ok(DASHBOARD).resp("X-Lab-Behavior", "rule = 7"),
            ],
            Some(&d),
        );
        let f = diagnose(&recs, Some(&d));
        assert!(f.iter().all(|f| f.id != "behavior-mismatch"), "{f:#?}");
    }

    #[test]
    fn a_different_observed_behavior_is_a_finding() {
        let d = dist();
        let recs = records(
            &[Rec::static_ok(S_JS, "Miss").resp("X-Lab-Behavior", "#7 default (*)")],
            Some(&d),
        );
        let f = diagnose(&recs, Some(&d));
        let x: Vec<_> = f.iter().filter(|f| f.id == "behavior-mismatch").collect();
        assert_eq!(x.len(), 1);
        assert_eq!(
            x[0].title,
            "Served by #7 default (*), configuration predicts #1 /s/*"
        );
        assert_eq!(
            x[0].evidence[0].lines,
            vec![
                "X-Lab-Behavior: #7 default (*)".to_string(),
                "predicted: #1 /s/* (behavior 1 of the configuration)".to_string()
            ]
        );
        assert!(x[0].explanation.contains("is behavior 7"));
        // Without --behavior-header nothing is read.
        let plain = seed();
        let recs = records(
            &[Rec::static_ok(S_JS, "Miss").resp("X-Lab-Behavior", "#7 default (*)")],
            Some(&plain),
        );
        assert!(recs[0].class.observed_behavior.is_none());
        assert!(
            diagnose(&recs, Some(&plain))
                .iter()
                .all(|f| f.id != "behavior-mismatch")
        );
    }
}

//! junit.xml: what a pipeline's test view shows. One suite per journey (a testcase per step), one
//! for verification (a testcase per behavior verdict), one for findings (a failing testcase per
//! error finding). Failure messages carry the evidence, so the CI page alone says what is wrong.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::{ExportContext, Exporter, Report};
use crate::diagnose::{Finding, Severity};
use crate::verify::BehaviorReport;

pub(crate) struct JunitExporter;

impl Exporter for JunitExporter {
    fn file_name(&self) -> &'static str {
        "junit.xml"
    }
    fn write(
        &self,
        report: &Report,
        _: &ExportContext,
        out: &mut dyn std::io::Write,
    ) -> anyhow::Result<()> {
        to_junit(report).serialize(out)?;
        Ok(())
    }
}

pub(crate) fn to_junit(report: &Report) -> quick_junit::Report {
    let mut out = quick_junit::Report::new("cdnprobe");
    let started = chrono::DateTime::parse_from_rfc3339(&report.started_at).ok();
    if let Some(t) = started {
        out.set_timestamp(t);
    }
    out.set_time(Duration::from_millis(report.duration_ms));

    for j in &report.journeys {
        let name = match &j.source {
            Some(s) => format!("journey {} [{s}]", j.name),
            None => format!("journey {}", j.name),
        };
        let mut suite = TestSuite::new(name);
        suite.add_property(Property::new("base_url", j.base_url.as_str()));
        if let Some(f) = &j.file {
            suite.add_property(Property::new("file", f.as_str()));
        }
        for s in &j.steps {
            let status = if s.ok {
                TestCaseStatus::success()
            } else {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_message(s.error.clone().unwrap_or_else(|| "step failed".into()));
                st.set_type("step");
                if let Some(shot) = &s.screenshot {
                    st.set_description(format!("screenshot: {shot}"));
                }
                st
            };
            let mut tc = TestCase::new(format!("#{} {}", s.index, s.description), status);
            tc.set_classname(format!("cdnprobe.journey.{}", j.name));
            tc.set_time(Duration::from_millis(s.duration_ms));
            suite.add_test_case(tc);
        }
        out.add_test_suite(suite);
    }

    let mut verification = TestSuite::new("verification");
    for b in &report.behaviors {
        verification.add_test_case(behavior_case(b));
    }
    out.add_test_suite(verification);

    let mut findings = TestSuite::new("findings");
    for f in report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
    {
        findings.add_test_case(finding_case(f));
    }
    out.add_test_suite(findings);
    out
}

fn behavior_case(b: &BehaviorReport) -> TestCase {
    let name = format!(
        "{} expect {}",
        b.pattern,
        serde_json::to_value(b.expect)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    );
    let sequences: Vec<String> = b
        .sequences
        .iter()
        .map(|s| {
            format!(
                "{}  {}",
                super::terminal::sequence_letters(&s.statuses),
                s.url
            )
        })
        .collect();
    let status = if b.pass {
        TestCaseStatus::success()
    } else {
        let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
        st.set_message(format!("{:?}: {}", b.verdict, b.reason));
        st.set_type(format!("{:?}", b.verdict));
        let mut text = sequences.join("\n");
        if !b.findings.is_empty() {
            text.push_str(&format!("\nfindings: {}", b.findings.join(", ")));
        }
        st.set_description(text);
        st
    };
    let mut tc = TestCase::new(name, status);
    tc.set_classname("cdnprobe.verification");
    if b.pass && !sequences.is_empty() {
        tc.set_system_out(sequences.join("\n"));
    }
    tc
}

/// The finding's evidence as text: `url` then its lines, indented.
pub(crate) fn evidence_text(f: &Finding) -> String {
    let mut t = String::new();
    for e in &f.evidence {
        t.push_str(&e.url);
        t.push('\n');
        for l in &e.lines {
            t.push_str("  ");
            t.push_str(l);
            t.push('\n');
        }
    }
    t
}

fn finding_case(f: &Finding) -> TestCase {
    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
    let mut message = f.title.clone();
    if let Some(first) = f.evidence.first() {
        message.push_str(&format!(" — {}", first.url));
        if let Some(l) = first.lines.first() {
            message.push_str(&format!(" ({l})"));
        }
    }
    st.set_message(message);
    st.set_type(f.id.as_str());
    st.set_description(format!(
        "{}\n\nevidence:\n{}\nfix: {}",
        f.explanation,
        evidence_text(f),
        f.fix
    ));
    let name = match &f.behavior {
        Some(b) => format!("{} ({b})", f.id),
        None => f.id.clone(),
    };
    let mut tc = TestCase::new(name, st);
    tc.set_classname("cdnprobe.findings");
    tc
}

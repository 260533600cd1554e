//! The history store through the binary: concurrent writers from separate processes, a writer
//! killed in the middle of its transaction, damaged and foreign files (reported with a hint,
//! never reset), and a real run against the embedded lab read back by `cdnprobe history`.

use crate::common::cdnprobe;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use predicates::prelude::*;

const HAR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/har/playwright-confluence-login.har"
);

/// `cdnprobe history --json` of `store`.
fn runs(store: &Path) -> Vec<serde_json::Value> {
    let out = cdnprobe()
        .args(["history", "--json", "--limit", "1000", "--history"])
        .arg(store)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn analyze(store: &Path, out: &Path, label: &str) -> std::process::Output {
    cdnprobe()
        .args(["analyze", HAR, "--quiet", "--label", label, "--history"])
        .arg(store)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// Two processes appending at the same time to a new store (both also race to create it): every
/// append lands, none is lost to a lock.
#[test]
fn concurrent_appends_from_two_processes_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.sqlite");
    let each = 4;
    let workers: Vec<std::thread::JoinHandle<()>> = ["a", "b"]
        .into_iter()
        .map(|w| {
            let store = store.clone();
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                for i in 0..each {
                    let out = analyze(&store, &dir.join(format!("{w}{i}")), &format!("worker={w}"));
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    assert_eq!(out.status.code(), Some(1), "{stderr}");
                    assert!(!stderr.contains("warning"), "{stderr}");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let runs = runs(&store);
    assert_eq!(runs.len(), 2 * each);
    for w in ["a", "b"] {
        let mine: Vec<&serde_json::Value> =
            runs.iter().filter(|r| r["labels"]["worker"] == w).collect();
        assert_eq!(mine.len(), each, "worker {w}: {runs:#?}");
        for r in mine {
            assert_eq!(r["command"], "analyze");
            assert_eq!(r["target"], "https://confluence.example.com/dologin.action");
            assert!(Path::new(r["report_path"].as_str().unwrap()).exists());
            assert!(!r["behaviors"].as_array().unwrap().is_empty());
            assert!(!r["findings"].as_array().unwrap().is_empty());
        }
    }
}

/// The child half of `a_writer_killed_mid_transaction_leaves_the_store_intact`: opens the store
/// as cdnprobe does (WAL), starts a run's transaction, writes a row, says so and waits to be
/// killed.
#[test]
fn killed_writer_child() {
    let Ok(path) = std::env::var("CDNPROBE_TEST_KILLED_WRITER") else {
        return;
    };
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn.execute(
        "INSERT INTO runs (command, target, labels, tool_version, schema_version, started_at,
            finished_at, duration_ms, pass, partial, exit_code, requests, failed_requests,
            findings_error, findings_warn, findings_info, behaviors_failed)
         VALUES ('run', 'half-written', '{}', '0', '0', '2000-01-01T00:00:00.000Z',
            '2000-01-01T00:00:00.000Z', 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)",
        [],
    )
    .unwrap();
    println!("in-transaction");
    std::thread::sleep(std::time::Duration::from_secs(600));
}

/// A process killed (SIGKILL: no cleanup at all) while it holds the write transaction leaves
/// the store readable, without its half-written run, and writable by the next run.
#[test]
fn a_writer_killed_mid_transaction_leaves_the_store_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.sqlite");
    assert_eq!(
        analyze(&store, &dir.path().join("before"), "n=1")
            .status
            .code(),
        Some(1)
    );
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "history::killed_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CDNPROBE_TEST_KILLED_WRITER", &store)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    loop {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0,
            "the child ended before its transaction"
        );
        if line.contains("in-transaction") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        analyze(&store, &dir.path().join("after"), "n=2")
            .status
            .code(),
        Some(1)
    );
    let runs = runs(&store);
    let targets: Vec<&str> = runs.iter().map(|r| r["target"].as_str().unwrap()).collect();
    assert_eq!(runs.len(), 2, "{targets:?}");
    assert!(!targets.contains(&"half-written"));
    let conn = rusqlite::Connection::open(&store).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

fn assert_hint(stderr: &str, store: &Path) {
    assert!(
        stderr.contains(&format!(
            "{}: not a usable cdnprobe history",
            store.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("it was left as it is"), "{stderr}");
    assert!(stderr.contains("hint: move it aside"), "{stderr}");
}

/// A file that is not SQLite, or another program's SQLite database: `history` exits 2 with the
/// hint; `analyze` warns, still writes its report and keeps its exit code; the file is untouched.
#[test]
fn a_damaged_or_foreign_store_is_reported_with_a_hint_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.sqlite");
    std::fs::write(
        &garbage,
        "this is not a database, it is a shopping list\n".repeat(200),
    )
    .unwrap();
    let foreign = dir.path().join("foreign.sqlite");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    for (store, why) in [
        (&garbage, "file is not a database"),
        (&foreign, "another program's SQLite database"),
    ] {
        let before = std::fs::read(store).unwrap();
        let out = cdnprobe()
            .args(["history", "--history"])
            .arg(store)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_hint(&stderr, store);
        assert!(stderr.contains(why), "{stderr}");

        let report_dir = dir.path().join("out");
        let out = analyze(store, &report_dir, "region=fra");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("warning: this analyze is not recorded in the history"),
            "{stderr}"
        );
        assert_hint(&stderr, store);
        assert!(report_dir.join("report.json").exists());
        assert_eq!(std::fs::read(store).unwrap(), before, "{}", store.display());
    }
}

#[test]
fn a_missing_store_and_a_bad_label_are_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    cdnprobe()
        .args(["history", "--history"])
        .arg(dir.path().join("none.sqlite"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no history there yet"));
    cdnprobe()
        .args(["analyze", HAR, "--label", "behavior=x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pick another name"));
    cdnprobe()
        .args(["analyze", HAR, "--label", "a=1", "--label", "a=2", "--out"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--label a is given twice"));
    assert!(!dir.path().join("report.json").exists());
}

/// `--no-history` records nothing, whatever --history or $CDNPROBE_HISTORY say.
#[test]
fn no_history_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.sqlite");
    cdnprobe()
        .args(["analyze", HAR, "--quiet", "--no-history", "--history"])
        .arg(&store)
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .code(1);
    cdnprobe()
        .env("CDNPROBE_HISTORY", &store)
        .args(["analyze", HAR, "--quiet", "--no-history", "--out"])
        .arg(dir.path().join("out"))
        .assert()
        .code(1);
    assert!(!store.exists());
}

/// A real run: the embedded lab, both journeys in Chromium, verification; its summary is read
/// back by `cdnprobe history` with the verdicts, labels and the report's path.
#[test]
fn a_lab_run_appends_a_row_that_history_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.sqlite");
    let out: PathBuf = dir.path().join("run");
    cdnprobe()
        .args(["run", "--quiet", "--label", "region=lab", "--history"])
        .arg(&store)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    let runs = runs(&store);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let r = &runs[0];
    assert_eq!(r["command"], "run");
    assert_eq!(r["target"], "lab (proxy)");
    assert_eq!(r["labels"]["region"], "lab");
    assert_eq!(r["pass"], true);
    assert_eq!(
        r["report_path"].as_str().unwrap(),
        out.join("report.json").display().to_string()
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["started_at"], report["started_at"]);
    let s = r["behaviors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["pattern"] == "/s/*")
        .unwrap_or_else(|| panic!("{r:#}"));
    assert_eq!(s["pass"], true);
    assert!(
        ["HITS", "WARM"].contains(&s["verdict"].as_str().unwrap()),
        "{s}"
    );
    assert!(s["hit_ratio"].as_f64().unwrap() > 0.0, "{s}");
    assert!(s["ttfb_p50_ms"].as_f64().is_some(), "{s}");
    // The table names the run too.
    cdnprobe()
        .args(["history", "--history"])
        .arg(&store)
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("lab (proxy)").and(predicate::str::contains("region=lab")),
        );
}

/// A good lab run, then one with a fault: the second report.html draws each behavior's trend,
/// `diff last-good` finds the good run (and not the faulty one, nor the report itself), and
/// `trend` shows since when the behavior fails, in the terminal and as an HTML chart.
#[test]
fn trend_and_diff_last_good_over_lab_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.sqlite");
    let good = dir.path().join("good");
    let bad = dir.path().join("bad");
    let lab_run = |out: &Path, faults: &[&str], code: i32| {
        let mut c = cdnprobe();
        c.args(["run", "--quiet", "--label", "region=lab", "--history"])
            .arg(&store)
            .arg("--out")
            .arg(out);
        for f in faults {
            c.args(["--lab-fault", f]);
        }
        c.assert().code(code);
    };
    lab_run(&good, &[], 0);
    lab_run(&bad, &["alb-stickiness"], 1);
    let html = |d: &Path| std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(
        !html(&good).contains("<svg class=\"trend\""),
        "no history yet"
    );
    let page = html(&bad);
    assert!(page.contains("<svg class=\"trend\""));
    assert!(page.contains("last 2 runs since"));
    assert!(page.contains("✓✗"), "the /s/* card shows met, then failed");

    let bad_report = bad.join("report.json");
    let out = cdnprobe()
        .args(["diff", "last-good"])
        .arg(&bad_report)
        .arg("--history")
        .arg(&store)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("last-good: run 1 of "), "{stderr}");
    assert!(
        stderr.contains(&good.join("report.json").display().to_string()),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("NEVER_HITS"));
    cdnprobe()
        .arg("diff")
        .arg(&bad_report)
        .args(["last-good", "--history"])
        .arg(&store)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("last-good: run 1 of "));
    // The only good run is the report itself: nothing to compare with.
    cdnprobe()
        .args(["diff", "last-good"])
        .arg(good.join("report.json"))
        .arg("--history")
        .arg(&store)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no good run of lab (proxy)"));

    let chart = dir.path().join("trend.html");
    let out = cdnprobe()
        .args([
            "trend",
            "--behavior",
            "/s/*",
            "--label",
            "region=lab",
            "--history",
        ])
        .arg(&store)
        .arg("--html")
        .arg(&chart)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/s/*") && text.contains("✓✗"), "{text}");
    assert!(text.contains("failing since"), "{text}");
    assert!(!text.contains("/download/resources/*"), "{text}");
    let page = std::fs::read_to_string(&chart).unwrap();
    assert!(page.contains("<svg class=\"trend\""));
    assert!(page.contains("NEVER_HITS"));
    assert!(
        !page.contains("<script") && !page.contains("http://") && !page.contains("https://"),
        "self-contained"
    );
}

/// A run given a relative --out records its report's absolute path, so `diff last-good` finds
/// it from any directory.
#[test]
fn the_report_path_is_recorded_absolute() {
    let dir = tempfile::tempdir().unwrap();
    let har = std::fs::canonicalize(HAR).unwrap();
    cdnprobe()
        .current_dir(dir.path())
        .arg("analyze")
        .arg(&har)
        .args(["--quiet", "--out", "rel", "--history", "h.sqlite"])
        .assert()
        .code(1);
    let runs = runs(&dir.path().join("h.sqlite"));
    let recorded = PathBuf::from(runs[0]["report_path"].as_str().unwrap());
    assert!(recorded.is_absolute(), "{recorded:?}");
    assert_eq!(
        std::fs::canonicalize(recorded).unwrap(),
        std::fs::canonicalize(dir.path().join("rel/report.json")).unwrap()
    );
}

/// A history from a newer cdnprobe (a later layout) is refused, not rewritten.
#[test]
fn a_newer_layout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("newer.sqlite");
    rusqlite::Connection::open(&store)
        .unwrap()
        // application_id 'cdnp', layout 99.
        .execute_batch("PRAGMA application_id = 1667526256; PRAGMA user_version = 99;")
        .unwrap();
    let before = std::fs::read(&store).unwrap();
    cdnprobe()
        .args(["history", "--history"])
        .arg(&store)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "written by a newer cdnprobe (layout 99",
        ));
    assert_eq!(std::fs::read(&store).unwrap(), before);
}

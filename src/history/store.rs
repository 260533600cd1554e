//! The history store: one SQLite file (default `output/history.sqlite`) that every run and
//! `analyze` appends its [`RunSummary`] to.
//!
//! Safe with several writers and with a run killed at any moment: the file is in WAL mode, a
//! writer waits for another (busy timeout) instead of failing, and one run is one transaction
//! (`BEGIN IMMEDIATE` ... `COMMIT`), so a run killed half-way leaves nothing of itself and never a
//! half-written row. A file that is not a history (not SQLite, damaged, another program's
//! database, a newer cdnprobe's layout) is reported with a hint and left exactly as it is: never
//! reset, since it holds the only record of past runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::summary::{BehaviorSummary, FindingCount, RunSummary};
use crate::error::UserError;

/// `PRAGMA application_id`: 'cdnp'. Marks the file as ours, so another program's SQLite database
/// given as `--history` is refused rather than written into.
const APPLICATION_ID: i64 = 0x6364_6e70;
/// `PRAGMA user_version`: the layout below. A newer layout is refused (never rewritten).
const LAYOUT_VERSION: i64 = 1;
/// How long a writer waits for another before giving up (a run's append takes milliseconds).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const LAYOUT: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    target TEXT NOT NULL,
    labels TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    schema_version TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    pass INTEGER NOT NULL,
    partial INTEGER NOT NULL,
    exit_code INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    failed_requests INTEGER NOT NULL,
    findings_error INTEGER NOT NULL,
    findings_warn INTEGER NOT NULL,
    findings_info INTEGER NOT NULL,
    behaviors_failed INTEGER NOT NULL,
    report_path TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_target ON runs(target, started_at);
CREATE TABLE IF NOT EXISTS run_labels (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS behaviors (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    position INTEGER NOT NULL,
    pattern TEXT NOT NULL,
    expect TEXT,
    verdict TEXT,
    pass INTEGER,
    requests INTEGER NOT NULL,
    loads INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    hit_ratio REAL,
    ttfb_p50_ms REAL,
    ttfb_p90_ms REAL,
    ttfb_p99_ms REAL,
    edge_errors INTEGER NOT NULL,
    PRIMARY KEY (run_id, pattern)
);
CREATE TABLE IF NOT EXISTS findings (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    id TEXT NOT NULL,
    severity TEXT NOT NULL,
    behavior TEXT,
    count INTEGER NOT NULL
);
";

/// An open history.
pub(crate) struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Which runs to read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pub target: Option<String>,
    /// Every one of these labels must be on the run.
    pub labels: BTreeMap<String, String>,
    /// Runs started at or after this RFC 3339 time.
    pub since: Option<String>,
    /// The newest N (after the other filters).
    pub limit: Option<usize>,
    /// Only this run.
    pub id: Option<i64>,
}

/// The message and hint for a file that cannot be used as a history.
pub(crate) fn unusable(path: &Path, why: impl std::fmt::Display) -> UserError {
    UserError::input(
        format!(
            "{}: not a usable cdnprobe history ({why}); it was left as it is",
            path.display()
        ),
        format!(
            "move it aside to start a new history (mv {0} {0}.broken; `sqlite3 {0}.broken .recover` may salvage its runs), \
             or pass --history OTHER.sqlite, or --no-history",
            path.display()
        ),
    )
}

/// A SQLite error on `path` as the user's problem: busy, not writable, or not a history.
/// Why [`Store::prepare`] could not finish: SQLite (perhaps only busy for now), or the file itself.
enum Prepare {
    Sqlite(rusqlite::Error),
    Refused(UserError),
}

impl From<rusqlite::Error> for Prepare {
    fn from(e: rusqlite::Error) -> Self {
        Prepare::Sqlite(e)
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn failed(path: &Path, e: rusqlite::Error) -> UserError {
    use rusqlite::ErrorCode;
    if is_busy(&e) {
        return UserError::input(
            format!(
                "{}: another process kept the history locked for {} s ({e})",
                path.display(),
                BUSY_TIMEOUT.as_secs()
            ),
            "run again; if it persists, look for a process holding the file open (fuser)",
        );
    }
    match e.sqlite_error_code() {
        Some(
            ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::PermissionDenied
            | ErrorCode::DiskFull,
        ) => UserError::input(
            format!("{}: cannot write the history ({e})", path.display()),
            "check the file's and its directory's permissions and free space, or pass --history PATH elsewhere, or --no-history",
        ),
        _ => unusable(path, e),
    }
}

impl Store {
    /// Open (creating the file and its tables if missing) for appending.
    pub fn open(path: &Path) -> Result<Store, UserError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                UserError::input(
                    format!(
                        "{}: cannot create the history's directory: {e}",
                        dir.display()
                    ),
                    "pass --history PATH in a writable directory, or --no-history",
                )
            })?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(|e| failed(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.prepare(true)?;
        Ok(store)
    }

    /// Open an existing history for reading (`history`, `trend`, `diff last-good`).
    pub(crate) fn open_existing(path: &Path) -> Result<Store, UserError> {
        if !path.exists() {
            return Err(UserError::input(
                format!("{}: no history there yet", path.display()),
                "every `cdnprobe run` and `analyze` appends to output/history.sqlite (under the directory it runs in) unless --no-history; pass --history PATH if yours is elsewhere",
            ));
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .map_err(|e| failed(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.prepare(false)?;
        Ok(store)
    }

    fn unusable(&self, why: impl std::fmt::Display) -> UserError {
        unusable(&self.path, why)
    }

    /// Check the file is ours (or empty), switch to WAL and create the tables.
    fn prepare(&mut self, create: bool) -> Result<(), UserError> {
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| failed(&self.path, e))?;
        // SQLite answers SQLITE_BUSY at once, without waiting in the busy handler, where waiting
        // could deadlock (a journal-mode change while another connection reads, a read turning
        // into a write). Two processes creating one new history meet exactly there: try again
        // until the timeout, as the busy handler would.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            match self.try_prepare(create) {
                Ok(()) => return Ok(()),
                Err(Prepare::Refused(e)) => return Err(e),
                Err(Prepare::Sqlite(e)) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(Prepare::Sqlite(e)) => return Err(failed(&self.path, e)),
            }
        }
    }

    fn try_prepare(&mut self, create: bool) -> Result<(), Prepare> {
        // One statement, so one snapshot: read apart, another process creating the history
        // could commit between the header and the table count (no id yet, tables already),
        // which reads as another program's database.
        let (app_id, version, tables): (i64, i64, i64) = self.conn.query_row(
            "SELECT (SELECT application_id FROM pragma_application_id),
                    (SELECT user_version FROM pragma_user_version),
                    (SELECT count(*) FROM sqlite_schema WHERE type = 'table')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        if app_id != APPLICATION_ID && (app_id != 0 || tables > 0) {
            return Err(Prepare::Refused(
                self.unusable("another program's SQLite database"),
            ));
        }
        if version > LAYOUT_VERSION {
            return Err(Prepare::Refused(UserError::input(
                format!(
                    "{}: this history was written by a newer cdnprobe (layout {version}; this one reads {LAYOUT_VERSION})",
                    self.path.display()
                ),
                "use the newer cdnprobe, or pass --history OTHER.sqlite",
            )));
        }
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        tracing::debug!("history {}: journal_mode {mode}", self.path.display());
        if !create && app_id == APPLICATION_ID {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(LAYOUT)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", LAYOUT_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    /// Append one run (one transaction); returns its id.
    pub fn append(&mut self, run: &RunSummary) -> Result<i64, UserError> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| failed(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let labels = serde_json::to_string(&run.labels).unwrap_or_else(|_| "{}".into());
        tx.execute(
            "INSERT INTO runs (command, target, labels, tool_version, schema_version, started_at,
                finished_at, duration_ms, pass, partial, exit_code, requests, failed_requests,
                findings_error, findings_warn, findings_info, behaviors_failed, report_path)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            params![
                run.command,
                run.target,
                labels,
                run.tool_version,
                run.schema_version,
                run.started_at,
                run.finished_at,
                run.duration_ms as i64,
                run.pass,
                run.partial,
                run.exit_code,
                run.requests as i64,
                run.failed_requests as i64,
                run.findings_error as i64,
                run.findings_warn as i64,
                run.findings_info as i64,
                run.behaviors_failed as i64,
                run.report_path,
            ],
        )
        .map_err(fail)?;
        let id = tx.last_insert_rowid();
        for (k, v) in &run.labels {
            tx.execute(
                "INSERT INTO run_labels (run_id, key, value) VALUES (?1, ?2, ?3)",
                params![id, k, v],
            )
            .map_err(fail)?;
        }
        for (i, b) in run.behaviors.iter().enumerate() {
            tx.execute(
                "INSERT INTO behaviors (run_id, position, pattern, expect, verdict, pass, requests,
                    loads, hits, hit_ratio, ttfb_p50_ms, ttfb_p90_ms, ttfb_p99_ms, edge_errors)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    id,
                    i as i64,
                    b.pattern,
                    b.expect,
                    b.verdict,
                    b.pass,
                    b.requests as i64,
                    b.loads as i64,
                    b.hits as i64,
                    b.hit_ratio,
                    b.ttfb_p50_ms,
                    b.ttfb_p90_ms,
                    b.ttfb_p99_ms,
                    b.edge_errors as i64,
                ],
            )
            .map_err(fail)?;
        }
        for f in &run.findings {
            tx.execute(
                "INSERT INTO findings (run_id, id, severity, behavior, count) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, f.id, f.severity, f.behavior, f.count as i64],
            )
            .map_err(fail)?;
        }
        tx.commit().map_err(fail)?;
        Ok(id)
    }

    /// Runs matching `q`, oldest first, with their behaviors and findings.
    pub fn runs(&self, q: &Query) -> Result<Vec<RunSummary>, UserError> {
        self.read_runs(q).map_err(|e| failed(&self.path, e))
    }

    fn read_runs(&self, q: &Query) -> rusqlite::Result<Vec<RunSummary>> {
        let mut sql = String::from(
            "SELECT id, command, target, labels, tool_version, schema_version, started_at,
                finished_at, duration_ms, pass, partial, exit_code, requests, failed_requests,
                findings_error, findings_warn, findings_info, behaviors_failed, report_path
             FROM runs WHERE 1 = 1",
        );
        let mut args: Vec<String> = Vec::new();
        if let Some(t) = &q.target {
            args.push(t.clone());
            sql.push_str(&format!(" AND target = ?{}", args.len()));
        }
        if let Some(id) = q.id {
            args.push(id.to_string());
            sql.push_str(&format!(" AND id = CAST(?{} AS INTEGER)", args.len()));
        }
        if let Some(s) = &q.since {
            args.push(s.clone());
            sql.push_str(&format!(" AND started_at >= ?{}", args.len()));
        }
        for (k, v) in &q.labels {
            args.push(k.clone());
            args.push(v.clone());
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM run_labels l WHERE l.run_id = runs.id AND l.key = ?{} AND l.value = ?{})",
                args.len() - 1,
                args.len()
            ));
        }
        // Newest N, then oldest first.
        sql.push_str(" ORDER BY started_at DESC, id DESC");
        if let Some(n) = q.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let mut runs: Vec<RunSummary> = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                let labels: String = r.get(3)?;
                Ok(RunSummary {
                    id: r.get(0)?,
                    command: r.get(1)?,
                    target: r.get(2)?,
                    labels: serde_json::from_str(&labels).unwrap_or_default(),
                    tool_version: r.get(4)?,
                    schema_version: r.get(5)?,
                    started_at: r.get(6)?,
                    finished_at: r.get(7)?,
                    duration_ms: r.get::<_, i64>(8)?.max(0) as u64,
                    pass: r.get(9)?,
                    partial: r.get(10)?,
                    exit_code: r.get(11)?,
                    requests: r.get::<_, i64>(12)?.max(0) as usize,
                    failed_requests: r.get::<_, i64>(13)?.max(0) as usize,
                    findings_error: r.get::<_, i64>(14)?.max(0) as usize,
                    findings_warn: r.get::<_, i64>(15)?.max(0) as usize,
                    findings_info: r.get::<_, i64>(16)?.max(0) as usize,
                    behaviors_failed: r.get::<_, i64>(17)?.max(0) as usize,
                    report_path: r.get(18)?,
                    behaviors: Vec::new(),
                    findings: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        runs.reverse();
        let mut behaviors = self.conn.prepare(
            "SELECT pattern, expect, verdict, pass, requests, loads, hits, hit_ratio,
                ttfb_p50_ms, ttfb_p90_ms, ttfb_p99_ms, edge_errors
             FROM behaviors WHERE run_id = ?1 ORDER BY position",
        )?;
        let mut findings = self.conn.prepare(
            "SELECT id, severity, behavior, count FROM findings WHERE run_id = ?1 ORDER BY rowid",
        )?;
        for run in &mut runs {
            run.behaviors = behaviors
                .query_map([run.id], |r| {
                    Ok(BehaviorSummary {
                        pattern: r.get(0)?,
                        expect: r.get(1)?,
                        verdict: r.get(2)?,
                        pass: r.get(3)?,
                        requests: r.get::<_, i64>(4)?.max(0) as usize,
                        loads: r.get::<_, i64>(5)?.max(0) as usize,
                        hits: r.get::<_, i64>(6)?.max(0) as usize,
                        hit_ratio: r.get(7)?,
                        ttfb_p50_ms: r.get(8)?,
                        ttfb_p90_ms: r.get(9)?,
                        ttfb_p99_ms: r.get(10)?,
                        edge_errors: r.get::<_, i64>(11)?.max(0) as usize,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            run.findings = findings
                .query_map([run.id], |r| {
                    Ok(FindingCount {
                        id: r.get(0)?,
                        severity: r.get(1)?,
                        behavior: r.get(2)?,
                        count: r.get::<_, i64>(3)?.max(0) as usize,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
        }
        Ok(runs)
    }

    /// The newest good run (every behavior met, no error finding, not partial) for `target`
    /// whose report.json is still on disk and is not `exclude`.
    pub(crate) fn last_good(
        &self,
        target: &str,
        exclude: Option<&Path>,
    ) -> Result<Option<RunSummary>, UserError> {
        let exclude = exclude.and_then(|p| p.canonicalize().ok());
        let found = self
            .conn
            .prepare(
                "SELECT id, report_path FROM runs
                 WHERE target = ?1 AND partial = 0 AND behaviors_failed = 0 AND findings_error = 0
                   AND report_path IS NOT NULL
                 ORDER BY started_at DESC, id DESC",
            )
            .and_then(|mut stmt| {
                let rows: Vec<(i64, String)> = stmt
                    .query_map([target], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                Ok(rows)
            })
            .map_err(|e| failed(&self.path, e))?
            .into_iter()
            .find(|(_, p)| match Path::new(p).canonicalize() {
                Ok(c) => Some(&c) != exclude.as_ref(),
                Err(_) => false,
            });
        let Some((id, _)) = found else {
            return Ok(None);
        };
        Ok(self
            .runs(&Query {
                id: Some(id),
                ..Default::default()
            })?
            .pop())
    }
}

//! Reading the user's files with a size cap, so that a wrong path cannot eat the machine.
//!
//! Why: every input used to be read whole (`read_to_string`) before anything looked at it.
//! `--scenario /dev/zero`, a mistyped `analyze` argument pointing at a disk image, or a pipe that
//! never ends read until the kernel stopped the process (about 5 GB of RSS here) instead of
//! saying "that is not a journey". Each kind of input now has a cap far above any real file of
//! its kind, and is read through a bounded reader that never takes more than cap + 1 bytes; a
//! regular file larger than the cap is refused from its size alone, before any read.
//!
//! Two caps, because the inputs come in two sizes:
//! - configuration (journeys, behaviors files, distribution configs, cookies.txt): hand-written
//!   or exported text, a few KB. Default 8 MiB; `--max-config-size` / `CDNPROBE_MAX_CONFIG_SIZE`.
//! - captures (HAR files for `analyze`, report.json for `diff`/`merge`): 100 MB HARs are
//!   normal (and benchmarked). Default 2 GiB; `--max-capture-size` / `CDNPROBE_MAX_CAPTURE_SIZE`.
//!
//! The caps are process-wide (set once from the command line by `dispatch`): the readers sit deep
//! in modules that have no reason to carry them around.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

use crate::error::UserError;

pub(crate) const DEFAULT_MAX_CONFIG_SIZE: u64 = 8 << 20;
pub(crate) const DEFAULT_MAX_CAPTURE_SIZE: u64 = 2 << 30;

/// The caps in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub config: u64,
    pub capture: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            config: DEFAULT_MAX_CONFIG_SIZE,
            capture: DEFAULT_MAX_CAPTURE_SIZE,
        }
    }
}

static LIMITS: OnceLock<Limits> = OnceLock::new();

/// Set the caps for this process (once; later calls are ignored).
pub(crate) fn set_limits(limits: Limits) {
    let _ = LIMITS.set(limits);
}

pub fn limits() -> Limits {
    LIMITS.get().copied().unwrap_or_default()
}

/// What a file is, for its cap and for the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Scenario,
    Behaviors,
    CookieFile,
    Har,
    Report,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Scenario => "scenario",
            Kind::Behaviors => "behaviors file",
            Kind::CookieFile => "cookie file",
            Kind::Har => "HAR file",
            Kind::Report => "report",
        }
    }

    fn is_capture(self) -> bool {
        matches!(self, Kind::Har | Kind::Report)
    }

    fn cap(self) -> u64 {
        let l = limits();
        if self.is_capture() {
            l.capture
        } else {
            l.config
        }
    }

    fn override_hint(self) -> &'static str {
        if self.is_capture() {
            "--max-capture-size SIZE (or CDNPROBE_MAX_CAPTURE_SIZE=SIZE)"
        } else {
            "--max-config-size SIZE (or CDNPROBE_MAX_CONFIG_SIZE=SIZE)"
        }
    }

    /// A JSON document of this kind must start with `{`: when it does not, reading the rest
    /// cannot make it parse, and the parser's message about the first bytes is the true one.
    fn must_start_with_brace(self) -> bool {
        matches!(self, Kind::Har | Kind::Report)
    }
}

/// `8 MiB`, `2 GiB`, `512 bytes`.
pub(crate) fn human_size(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if n >= size && n.is_multiple_of(size) {
            return format!("{} {unit}", n / size);
        }
        if n >= size {
            return format!("{:.1} {unit}", n as f64 / size as f64);
        }
    }
    format!("{n} bytes")
}

/// Parse a size: bytes, or a number with `k`/`m`/`g` (`KiB`, `MB`, ... all taken as powers of
/// 1024). Used by the `--max-*-size` flags.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 8MiB, 512k, 2G, 1048576)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(format!("unknown size unit `{other}` (use k, M, G)")),
    };
    let n = num * mult as f64;
    if !(n >= 1.0 && n < u64::MAX as f64) {
        return Err(format!("`{s}` is not a usable size (at least 1 byte)"));
    }
    Ok(n as u64)
}

fn too_big(path: &Path, kind: Kind, cap: u64, size: Option<u64>) -> UserError {
    UserError::input(
        format!(
            "{} {} is {} the {} cap for a {}",
            kind.what(),
            path.display(),
            match size {
                Some(n) => format!("{}, over", human_size(n)),
                None => "over".to_string(),
            },
            human_size(cap),
            kind.what()
        ),
        format!(
            "check the path (is it really a {}?); if it is, raise the cap with {}",
            kind.what(),
            kind.override_hint()
        ),
    )
}

/// Read a file of this kind, whole, refusing it (exit 2) when it exceeds the kind's cap. Never
/// reads more than cap + 1 bytes.
pub fn read(path: &Path, kind: Kind) -> Result<Vec<u8>, UserError> {
    read_capped(path, kind, kind.cap())
}

/// [`read`] as UTF-8 text.
pub fn read_to_string(path: &Path, kind: Kind) -> Result<String, UserError> {
    let bytes = read(path, kind)?;
    String::from_utf8(bytes).map_err(|e| {
        UserError::input(
            format!(
                "cannot read {} {}: not UTF-8 text (invalid byte at offset {})",
                kind.what(),
                path.display(),
                e.utf8_error().valid_up_to()
            ),
            format!("check the path: a {} is a text file", kind.what()),
        )
    })
}

fn cannot_read(path: &Path, kind: Kind, e: std::io::Error) -> UserError {
    UserError::input(
        format!("cannot read {} {}: {e}", kind.what(), path.display()),
        match kind {
            Kind::Scenario => "check the path; bundled journeys live in scenarios/",
            Kind::Behaviors => {
                "check the path; it should be a TOML behaviors file or the JSON of `aws cloudfront get-distribution-config`"
            }
            Kind::CookieFile => "export the session from your browser as a Netscape cookies.txt",
            Kind::Har => {
                "pass a HAR file exported from Chrome/Firefox DevTools, Playwright or WebPageTest"
            }
            Kind::Report => "pass the report.json from a cdnprobe run's output directory",
        },
    )
}

fn read_capped(path: &Path, kind: Kind, cap: u64) -> Result<Vec<u8>, UserError> {
    let file = std::fs::File::open(path).map_err(|e| cannot_read(path, kind, e))?;
    let meta = file.metadata().map_err(|e| cannot_read(path, kind, e))?;
    if meta.is_dir() {
        return Err(cannot_read(
            path,
            kind,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory"),
        ));
    }
    // A regular file says its size: refuse it before reading anything.
    if meta.is_file() && meta.len() > cap {
        return Err(too_big(path, kind, cap, Some(meta.len())));
    }
    let mut reader = file.take(cap.saturating_add(1));
    let mut out = Vec::with_capacity(if meta.is_file() {
        meta.len() as usize
    } else {
        64 << 10
    });
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(cannot_read(path, kind, e)),
        };
        out.extend_from_slice(&chunk[..n]);
        if kind.must_start_with_brace() && !could_be_json_object(&out) {
            // The parser will say what is wrong with these first bytes; the rest cannot help.
            return Ok(out);
        }
    }
    if out.len() as u64 > cap {
        return Err(too_big(path, kind, cap, None));
    }
    Ok(out)
}

/// A capture's bytes for a parser that reads them once, front to back.
///
/// Why: `analyze` of a 100 MB HAR used to hold the whole text while the exchanges were built
/// from it, so its peak was the file plus the exchanges (1.9x the file). A regular file is mapped
/// instead, and the parser hands back the pages it has passed ([`OnePass::release_before`]), so the
/// text stops counting towards the process' memory as the exchanges grow. A pipe or a small file
/// is read as before.
pub(crate) struct OnePass {
    bytes: Bytes,
    /// Offset up to which pages have been handed back.
    released: std::cell::Cell<usize>,
}

enum Bytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for OnePass {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(m) => m,
            Bytes::Read(v) => v,
        }
    }
}

impl OnePass {
    /// Below this a file is read: mapping it saves nothing worth a system call.
    const MAP_FROM: u64 = 4 << 20;
    /// Pages go back in steps of this much, not one `madvise` per parsed value.
    const RELEASE_STEP: usize = 4 << 20;

    /// Hand back the pages wholly before `at`, a position inside these bytes the parser has
    /// passed for good. Their content is unchanged: a mapped file's pages are read again from the
    /// page cache if anything looks back (the error path re-reads the text to explain it).
    pub(crate) fn release_before(&self, at: *const u8) {
        let Bytes::Mapped(map) = &self.bytes else {
            return;
        };
        let Some(offset) = (at as usize).checked_sub(map.as_ptr() as usize) else {
            return;
        };
        let page = page_size();
        let end = offset.min(map.len()) / page * page;
        let start = self.released.get();
        if end < start + Self::RELEASE_STEP {
            return;
        }
        // SAFETY: the mapping is private and read-only. Dropping its pages never changes what
        // reading them gives (they are faulted in again from the file), so no `&[u8]` into it
        // sees different bytes; only their residency changes. A failure only keeps them resident.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
        };
        self.released.set(end);
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    }
}

/// Open a capture for one pass: mapped if it is a regular file of some size, else [`read`] (with
/// the same cap and messages either way).
pub(crate) fn one_pass(path: &Path, kind: Kind) -> Result<OnePass, UserError> {
    let read = |bytes| OnePass {
        bytes: Bytes::Read(bytes),
        released: std::cell::Cell::new(0),
    };
    let file = std::fs::File::open(path).map_err(|e| cannot_read(path, kind, e))?;
    let meta = file.metadata().map_err(|e| cannot_read(path, kind, e))?;
    if !meta.is_file() || meta.len() < OnePass::MAP_FROM {
        return Ok(read(read_capped(path, kind, kind.cap())?));
    }
    if meta.len() > kind.cap() {
        return Err(too_big(path, kind, kind.cap(), Some(meta.len())));
    }
    // SAFETY: the mapping is read-only and private. If another process truncates the file while
    // it is parsed, reading past the new end faults (SIGBUS), as it does for ripgrep's maps; a
    // file changed in place is parsed as it is read. A HAR being rewritten while it is analyzed
    // gives no meaningful answer either way.
    match unsafe { memmap2::Mmap::map(&file) } {
        Ok(map) => {
            let _ = map.advise(memmap2::Advice::Sequential);
            Ok(OnePass {
                bytes: Bytes::Mapped(map),
                released: std::cell::Cell::new(0),
            })
        }
        // Some file systems cannot map; read it then.
        Err(_) => Ok(read(read_capped(path, kind, kind.cap())?)),
    }
}

/// False once the bytes read so far show the document is not a JSON object (its first
/// character, after a BOM and whitespace, is not `{`).
fn could_be_json_object(prefix: &[u8]) -> bool {
    let p = prefix.strip_prefix(b"\xef\xbb\xbf").unwrap_or(prefix);
    match p.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b) => *b == b'{',
        None => true,
    }
}

/// `s`, or its first `max` bytes (on a character boundary) followed by a marker saying how much
/// was left out.
pub fn clip(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}… [{} more bytes not shown; the full value is in report.json]",
        &s[..end],
        s.len() - end
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("8M"), Ok(8 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert_eq!(human_size(8 << 20), "8 MiB");
        assert_eq!(human_size(2 << 30), "2 GiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(12), "12 bytes");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_by_its_size_and_a_stream_after_cap_plus_one_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.toml");
        std::fs::write(&p, vec![b'#'; 101]).unwrap();
        let err = read_capped(&p, Kind::Scenario, 100)
            .unwrap_err()
            .to_string();
        assert!(err.contains("101 bytes, over the 100 bytes cap"), "{err}");
        assert!(err.contains("--max-config-size"), "{err}");
        assert_eq!(read_capped(&p, Kind::Scenario, 101).unwrap().len(), 101);
        // /dev/zero has no size: read until the cap is passed, then refused.
        let err = read_capped(Path::new("/dev/zero"), Kind::Scenario, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(err.contains("over the 1 MiB cap"), "{err}");
    }

    #[test]
    fn a_json_input_that_cannot_be_an_object_stops_at_its_first_chunk() {
        let bytes = read_capped(Path::new("/dev/zero"), Kind::Har, u64::MAX).unwrap();
        assert_eq!(bytes.len(), 64 << 10);
        assert!(could_be_json_object(b"\xef\xbb\xbf \n{"));
        assert!(could_be_json_object(b"  "));
        assert!(!could_be_json_object(b" ["));
    }

    /// The mapping's resident size, from /proc/self/smaps, in KiB.
    fn resident_kib(start: *const u8) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let start = format!("{:x}-", start as usize);
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&start));
        assert!(lines.next().is_some(), "the mapping is not in smaps");
        let rss = lines.find(|l| l.starts_with("Rss:")).unwrap();
        rss.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn a_large_capture_is_mapped_and_hands_back_the_pages_passed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.har");
        let bytes: Vec<u8> = (0..32u32 << 20).map(|i| b'a' + (i % 26) as u8).collect();
        std::fs::write(&p, &bytes).unwrap();
        let one = one_pass(&p, Kind::Har).unwrap();
        assert!(matches!(one.bytes, Bytes::Mapped(_)));
        // Read it all, as a parser would: every page becomes resident.
        assert_eq!(&*one, &bytes[..]);
        assert!(resident_kib(one.as_ptr()) >= 32 << 10);
        // A step short of RELEASE_STEP hands nothing back; past the middle, half goes.
        one.release_before(one[(1 << 20)..].as_ptr());
        assert!(resident_kib(one.as_ptr()) >= 32 << 10);
        one.release_before(one[(16 << 20) + 100..].as_ptr());
        let left = resident_kib(one.as_ptr());
        assert!(left <= (16 << 10) + 4, "{left} KiB still resident");
        // What is handed back still reads the same.
        assert_eq!(&*one, &bytes[..]);
        // A small file is read as before.
        std::fs::write(&p, b"{}").unwrap();
        assert!(matches!(
            one_pass(&p, Kind::Har).unwrap().bytes,
            Bytes::Read(_)
        ));
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path(), Kind::Behaviors).unwrap_err().to_string();
        assert!(err.contains("directory"), "{err}");
    }
}

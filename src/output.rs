//! Messages and results to stderr and stdout that survive a closed pipe.
//!
//! `eprintln!` and `print!` panic when the write fails. It does fail (EPIPE) once `run` handles
//! SIGPIPE and whoever read its output has exited (`cdnprobe run ... 2>&1 | head`; see
//! `interrupt`): the run must still close its browser, keep its report and exit with its code,
//! so what it prints goes through these, which drop what cannot be written.

use std::io::Write;

/// Write `line` and a newline to stderr; nothing if stderr is gone.
pub fn to_stderr(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(line.as_bytes())
        .and_then(|_| err.write_all(b"\n"));
}

/// Write `text` to stdout as it is; nothing if stdout is gone.
pub(crate) fn to_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

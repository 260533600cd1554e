//! Thin entry point: parse flags, run, map errors to exit codes (see `error::exit`).

use cdnprobe::cli::{Cli, Command};
use cdnprobe::error::exit;
use clap::Parser;

/// mimalloc: a capture or a large HAR is hundreds of thousands of small strings (header names
/// and values); glibc's allocator spent about a quarter of `analyze`'s time in malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's option setter, in the C library the `mimalloc` crate links (the crate exposes it
// only with its `extended` feature).
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}
/// `mi_option_purge_delay` in mimalloc v2's `mimalloc.h`.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

fn main() {
    let cli = Cli::parse();
    // `cdnprobe analyze x.har --json | head`: a closed stdout ends the process quietly, as it
    // does any Unix filter, instead of panicking in `println!` (Rust ignores SIGPIPE by default).
    // Not `run`: dying there would orphan its Chromium and lose the report, so it keeps SIGPIPE
    // ignored until `interrupt::install` turns it into a graceful stop.
    // Sockets are unaffected: std and tokio send with MSG_NOSIGNAL.
    if !matches!(&cli.command, Command::Run(_)) {
        // SAFETY: setting a signal's disposition to its default before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let verbose = matches!(&cli.command, Command::Run(a) if a.verbose);
    if matches!(&cli.command, Command::Run(_) | Command::Analyze(_)) {
        // A capture frees its CDP messages as it goes, and the report writers their buffers:
        // give their pages back to the system at once, not 10 ms later (measured on the
        // 10,000-request page: 128 -> 113 MiB peak RSS; `analyze` of a real HAR repeated to
        // 104.7 MB: 158 -> 141-144 MiB).
        // SAFETY: sets an integer option; mimalloc reads its options atomically.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
    cdnprobe::logging::init(verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            cdnprobe::output::to_stderr(&format!("error: cannot start the async runtime: {e}"));
            std::process::exit(exit::CANNOT_RUN);
        }
    };
    let result = runtime.block_on(cdnprobe::dispatch(cli));
    let code = match result {
        Ok(code) => code,
        Err(err) => {
            if let Some(user) = err.downcast_ref::<cdnprobe::UserError>() {
                cdnprobe::output::to_stderr(&format!(
                    "error: {}",
                    cdnprobe::logging::redact(&user.to_string())
                ));
            } else {
                cdnprobe::output::to_stderr(&format!(
                    "error: {}",
                    cdnprobe::logging::redact(&format!("{err:#}"))
                ));
            }
            exit::CANNOT_RUN
        }
    };
    // Drop the runtime (and with it any browser child, which is kill_on_drop) before exiting.
    drop(runtime);
    std::process::exit(code);
}

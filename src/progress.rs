//! Progress on stderr (indicatif): a spinner on a terminal, nothing when stderr is not a terminal
//! or with `--quiet`, so pipelines and CI logs stay clean.

use std::io::IsTerminal;
use std::time::Duration;

/// Progress on stderr: a spinner on a terminal, nothing otherwise or with --quiet.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed:>3} {msg}").unwrap(),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress { bar }
    }
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }
    pub fn set(&self, msg: impl Into<String>) {
        if let Some(b) = &self.bar {
            b.set_message(msg.into());
        }
    }
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

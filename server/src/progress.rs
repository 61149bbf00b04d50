//! Progress of long operator commands on stderr: a bar (count, rate, ETA)
//! when stderr is a terminal, only a summary line at the end when it is not
//! (CI, pipes), and nothing at all with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
pub use regen_domain::grouped;

/// How a command reports what it is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// A bar on a terminal, else a summary line.
    Normal,
    /// Errors only.
    Quiet,
}

pub struct Progress {
    bar: Option<ProgressBar>,
    verbosity: Verbosity,
    started: Instant,
}

/// `3.2 s`, `4 min 12 s`.
pub fn took(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        format!(
            "{} min {} s",
            duration.as_secs() / 60,
            duration.as_secs() % 60
        )
    }
}

impl Progress {
    /// A bar of `total` `unit`s, or a spinner when the total is unknown.
    pub fn new(total: Option<u64>, unit: &str, verbosity: Verbosity) -> Progress {
        let bar = (verbosity == Verbosity::Normal && std::io::stderr().is_terminal()).then(|| {
            let bar = match total {
                Some(total) => {
                    let bar = ProgressBar::new(total);
                    bar.set_style(
                        ProgressStyle::with_template(&format!(
                            "{{bar:40.cyan/blue}} {{human_pos}}/{{human_len}} {unit} · {{per_sec}} · ETA {{eta}}"
                        ))
                        .expect("a valid template"),
                    );
                    bar
                }
                None => {
                    let bar = ProgressBar::new_spinner();
                    bar.set_style(
                        ProgressStyle::with_template(&format!("{{spinner}} {{msg}} {unit} · {{elapsed}}"))
                            .expect("a valid template"),
                    );
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                }
            };
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar
        });
        Progress {
            bar,
            verbosity,
            started: Instant::now(),
        }
    }

    pub fn advance(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(done);
        }
    }

    pub fn message(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Clears the bar and prints the one summary line (unless quiet).
    pub fn finish(self, summary: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.verbosity == Verbosity::Normal {
            eprintln!("{summary}");
        }
    }
}

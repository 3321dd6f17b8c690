//! How results are reported: each section prints a Markdown table of checks (the figure, the
//! limit it is held against, their ratio, the target and whether it is met) and a few lines
//! of detail, ready to paste into `BENCHMARKS.md`.

use std::{path::Path, process::Command, time::Duration};

use crate::binaries::Binaries;

/// One figure held against its limit.
pub(crate) struct Check {
    /// What is measured.
    pub(crate) what: String,
    /// The figure, formatted.
    pub(crate) figure: String,
    /// The limit, formatted.
    pub(crate) limit: String,
    /// Figure over limit.
    pub(crate) ratio: f64,
    /// The target, in words (`≥ 0.8`, `≤ 1`).
    pub(crate) target: String,
    /// Whether the target is met.
    pub(crate) met: bool,
}

/// A section of the report.
#[derive(Default)]
pub(crate) struct Section {
    title: String,
    checks: Vec<Check>,
    details: Vec<String>,
}

impl Section {
    /// An empty section.
    pub(crate) fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            ..Self::default()
        }
    }

    /// Adds a check where higher is better: met when `figure / limit >= target`.
    pub(crate) fn at_least(
        &mut self,
        what: &str,
        figure: f64,
        limit: f64,
        unit: &str,
        target: f64,
    ) {
        let ratio = figure / limit.max(f64::MIN_POSITIVE);
        self.checks.push(Check {
            what: what.to_owned(),
            figure: format!("{figure:.1} {unit}"),
            limit: format!("{limit:.1} {unit}"),
            ratio,
            target: format!("≥ {target}"),
            met: ratio >= target,
        });
    }

    /// Adds a check where lower is better: met when `figure <= limit`.
    pub(crate) fn at_most(&mut self, what: &str, figure: f64, limit: f64, unit: &str) {
        let ratio = figure / limit.max(f64::MIN_POSITIVE);
        self.checks.push(Check {
            what: what.to_owned(),
            figure: format!("{figure:.3} {unit}"),
            limit: format!("{limit} {unit}"),
            ratio,
            target: "≤ 1".to_owned(),
            met: ratio <= 1.0,
        });
    }

    /// Adds a line of detail.
    pub(crate) fn detail(&mut self, line: impl Into<String>) {
        self.details.push(line.into());
    }

    /// Prints the section.
    pub(crate) fn print(&self) {
        println!("\n## {}\n", self.title);
        if !self.checks.is_empty() {
            println!("| measured | figure | limit | ratio | target | met |");
            println!("|---|---|---|---|---|---|");
            for check in &self.checks {
                println!(
                    "| {} | {} | {} | {:.3} | {} | {} |",
                    check.what,
                    check.figure,
                    check.limit,
                    check.ratio,
                    check.target,
                    if check.met { "yes" } else { "**no**" }
                );
            }
            println!();
        }
        for line in &self.details {
            println!("- {line}");
        }
    }
}

/// Percentiles of a set of durations.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Spread {
    /// The median.
    pub(crate) p50: Duration,
    /// The 99th percentile (nearest rank).
    pub(crate) p99: Duration,
    /// The largest.
    pub(crate) max: Duration,
    /// How many.
    pub(crate) count: usize,
}

impl Spread {
    /// The spread of `samples`.
    pub(crate) fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let rank = |p: f64| {
            let index = ((p * samples.len() as f64).ceil() as usize).saturating_sub(1);
            samples.get(index).copied().unwrap_or_default()
        };
        Self {
            p50: rank(0.50),
            p99: rank(0.99),
            max: samples.last().copied().unwrap_or_default(),
            count: samples.len(),
        }
    }

    /// `p50 … p99 … max …` in milliseconds.
    pub(crate) fn describe(&self) -> String {
        format!(
            "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms over {}",
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.count
        )
    }
}

/// A duration in milliseconds.
pub(crate) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Prints what the run ran on: cores, load, date, commit, binaries.
pub(crate) fn print_machine(binaries: &Binaries) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    let output = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .map(|text| text.trim().to_owned())
            .unwrap_or_default()
    };
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let dirty = !output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    println!("# services benchmark\n");
    println!(
        "- date: {}",
        output("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"])
    );
    println!(
        "- commit: {}{}",
        output("git", &["rev-parse", "--short=12", "HEAD"]),
        if dirty {
            " (with uncommitted changes)"
        } else {
            ""
        }
    );
    println!(
        "- machine: {cores} cores, {}; load average at start {}",
        output("uname", &["-sr"]),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "- binaries: {} and {}",
        binaries.ingest.display(),
        binaries.fulfillment.display()
    );
}

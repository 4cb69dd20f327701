//! The machine a run happened on, for every table's caption.

use std::process::Command;

/// Where and how the figures were taken.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Logical CPUs (`nproc`).
    pub cpus: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// `rustc -V`, if rustc is on the path.
    pub rustc: String,
    /// `release` or `debug` (debug figures are not meaningful).
    pub profile: &'static str,
    /// Operating system and kernel (`uname -sr`).
    pub os: String,
    /// The load average when detected.
    pub loadavg: String,
}

impl Machine {
    /// Reads the current machine.
    pub fn detect() -> Machine {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        Machine {
            cpus,
            cpu_model,
            rustc: output("rustc", &["-V"]),
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            os: output("uname", &["-sr"]),
            loadavg: loadavg(),
        }
    }

    /// One line for captions.
    pub fn line(&self) -> String {
        format!(
            "{} CPUs (nproc), {}, {}, {}, {} build",
            self.cpus, self.cpu_model, self.os, self.rustc, self.profile
        )
    }
}

fn output(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The 1, 5 and 15 minute load averages from /proc/loadavg.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_string())
}

/// Peak resident set size of this process in KiB (`VmHWM` of /proc/self/status).
pub fn peak_rss_kib() -> Option<u64> {
    status_field("VmHWM:")
}

/// Current resident set size in KiB (`VmRSS`).
pub fn rss_kib() -> Option<u64> {
    status_field("VmRSS:")
}

fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Resets `VmHWM` to the current RSS (Linux: writing `5` to /proc/self/clear_refs), so that a later
/// [`peak_rss_kib`] is the peak of what ran in between. Returns whether it worked.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

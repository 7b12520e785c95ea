//! `cargo xtask bench-codegen`: how long the generator takes on the real spec and on a
//! synthetic spec of at least 2,000 endpoints (copies of the real groups under new names),
//! phase by phase. Run it in release: `cargo run --release -p xtask -- bench-codegen`.

use std::path::Path;
use std::time::{Duration, Instant};

/// Endpoints the synthetic spec has at least.
const SYNTHETIC_ENDPOINTS: usize = 2_000;
/// Runs per measurement; the median is reported.
const RUNS: usize = 5;

pub fn run(root: &Path) -> Result<String, String> {
    let real = codegen::read_sources(&root.join("spec")).map_err(|e| e.to_string())?;
    let synthetic = synthetic(&real);
    let mut report = String::new();
    for (name, sources) in [("real", &real), ("synthetic", &synthetic)] {
        let endpoints = count_endpoints(sources);
        let load = median(|| {
            codegen::load_sources(sources)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })?;
        let spec = codegen::load_sources(sources).map_err(|e| e.to_string())?;
        let generate = median(|| codegen::generate(&spec).map(|_| ()))?;
        let total = load + generate;
        report.push_str(&format!(
            "{name:>9}: {endpoints} endpoints: load+validate {:.3} s, generate+format {:.3} s, \
             total {:.3} s ({:.2} ms per endpoint)\n",
            load.as_secs_f64(),
            generate.as_secs_f64(),
            total.as_secs_f64(),
            total.as_secs_f64() * 1000.0 / endpoints.max(1) as f64,
        ));
    }
    Ok(report)
}

fn count_endpoints(sources: &[(String, String)]) -> usize {
    sources
        .iter()
        .map(|(_, text)| text.lines().filter(|l| l.starts_with("  - id: ")).count())
        .sum()
}

/// The real spec plus renamed copies of its groups (`contacts` → `contacts_s1`, namespace
/// `user` → `user_s1`), one group at a time until there are at least `SYNTHETIC_ENDPOINTS`
/// endpoints.
fn synthetic(real: &[(String, String)]) -> Vec<(String, String)> {
    let groups: Vec<&(String, String)> = real
        .iter()
        .filter(|(name, text)| {
            name != "errcodes.yaml" && name != "callbacks.yaml" && text.contains("\n  - id: ")
        })
        .collect();
    let mut out = real.to_vec();
    let mut endpoints = count_endpoints(&out);
    // Whole groups are added one at a time until there are just enough endpoints.
    'copies: for copy in 1.. {
        for (name, text) in &groups {
            if endpoints >= SYNTHETIC_ENDPOINTS {
                break 'copies;
            }
            let group = name.trim_end_matches(".yaml");
            let renamed: String = text
                .lines()
                .map(|line| {
                    if let Some(id) = line.strip_prefix("  - id: ") {
                        let (namespace, method) = id.split_once('.').unwrap_or((id, ""));
                        format!("  - id: {namespace}_s{copy}.{method}\n")
                    } else if line.starts_with("group: ") {
                        format!("group: {group}_s{copy}\n")
                    } else {
                        format!("{line}\n")
                    }
                })
                .collect();
            endpoints += count_endpoints(&[(String::new(), renamed.clone())]);
            out.push((format!("{group}_s{copy}.yaml"), renamed));
        }
    }
    out
}

fn median(mut f: impl FnMut() -> Result<(), String>) -> Result<Duration, String> {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[RUNS / 2])
}

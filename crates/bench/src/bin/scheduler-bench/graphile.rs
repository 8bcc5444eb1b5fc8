//! `--compare graphile`: runs graphile-worker (pinned in `crates/bench/graphile`) through our
//! Node driver `bench.mjs` on a separate database of the same cluster, and reads back its
//! figures.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sqlx::Connection as _;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

/// Database of the cluster that graphile-worker gets to itself (a macro so the SQL below can be
/// a literal, as sqlx requires).
macro_rules! database {
    () => {
        "graphile_bench"
    };
}
/// Prefix of the driver's machine-readable last line.
const SUMMARY_PREFIX: &str = "graphile ";

/// How graphile-worker runs: the shape the acceptance names (2 processes, concurrency 24) and
/// the local queue its performance page recommends.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub processes: usize,
    pub concurrency: usize,
    pub local_queue: usize,
}

/// What the driver measured.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub drain_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The job count and latency phase both systems run.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub jobs: usize,
    pub latency_rate: u32,
    pub latency_secs: u64,
}

fn driver_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("graphile")
}

/// Installs the pinned packages (`npm ci`, from package-lock.json) when they are missing.
async fn ensure_installed(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    if dir
        .join("node_modules/graphile-worker/package.json")
        .is_file()
    {
        return Ok(());
    }
    let help = format!("install it with `cd {} && npm ci`", dir.display());
    println!(
        "graphile-worker is not installed in {}; running npm ci",
        dir.display()
    );
    let status = Command::new("npm")
        .arg("ci")
        .current_dir(dir)
        .status()
        .await
        .map_err(|err| format!("could not run npm ({err}); {help}"))?;
    if !status.success() {
        return Err(format!("npm ci failed ({status}); {help}").into());
    }
    Ok(())
}

async fn fresh_database(admin_url: &str) -> Result<String, Box<dyn std::error::Error>> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::raw_sql(concat!("DROP DATABASE IF EXISTS ", database!()))
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql(concat!("CREATE DATABASE ", database!()))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(fleet_pgcluster::testing::with_database(
        admin_url,
        database!(),
    ))
}

/// Runs the driver on a fresh database, echoing its output, and parses its last line.
pub async fn run(
    admin_url: &str,
    load: Load,
    shape: Shape,
) -> Result<Figures, Box<dyn std::error::Error>> {
    let dir = driver_dir();
    ensure_installed(&dir).await?;
    let url = fresh_database(admin_url).await?;
    let mut child = Command::new("node")
        .arg(dir.join("bench.mjs"))
        .args(["--connection", &url])
        .args(["--jobs", &load.jobs.to_string()])
        .args(["--processes", &shape.processes.to_string()])
        .args(["--concurrency", &shape.concurrency.to_string()])
        .args(["--local-queue", &shape.local_queue.to_string()])
        .args(["--latency-rate", &load.latency_rate.to_string()])
        .args(["--latency-secs", &load.latency_secs.to_string()])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| {
            format!("could not start node ({err}); --compare graphile needs Node.js ≥ 18 on PATH")
        })?;
    let stdout = child.stdout.take().ok_or("node stdout was not piped")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut last = String::new();
    while let Some(line) = lines.next_line().await? {
        println!("{line}");
        last = line;
    }
    let status = child.wait().await?;
    if !status.success() {
        return Err(format!("graphile bench failed ({status}); its stderr is above").into());
    }
    parse_summary(&last)
}

/// `graphile drain_jobs_per_s=… p50_ms=… p99_ms=…`
fn parse_summary(line: &str) -> Result<Figures, Box<dyn std::error::Error>> {
    let fields = line
        .strip_prefix(SUMMARY_PREFIX)
        .ok_or_else(|| format!("graphile bench's last line is not its summary: {line:?}"))?;
    let field = |key: &str| -> Result<f64, String> {
        let text = fields
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .ok_or_else(|| format!("graphile summary has no {key}: {line:?}"))?;
        let value: f64 = text
            .parse()
            .map_err(|_| format!("graphile summary's {key} is not a number: {text:?}"))?;
        if value.is_finite() && value >= 0.0 {
            Ok(value)
        } else {
            Err(format!(
                "graphile summary's {key} is out of range: {text:?}"
            ))
        }
    };
    Ok(Figures {
        drain_per_s: field("drain_jobs_per_s")?,
        p50_ms: field("p50_ms")?,
        p99_ms: field("p99_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_parses_into_its_three_figures() {
        let f = parse_summary("graphile drain_jobs_per_s=12345 p50_ms=2.50 p99_ms=7.25").unwrap();
        assert_eq!(f.drain_per_s, 12345.0);
        assert_eq!(f.p50_ms, 2.5);
        assert_eq!(f.p99_ms, 7.25);
    }

    #[test]
    fn other_lines_and_bad_values_are_refused_with_the_line() {
        let err = parse_summary("graphile latency: 500 jobs").unwrap_err();
        assert!(err.to_string().contains("drain_jobs_per_s"), "{err}");
        let err = parse_summary("drain_jobs_per_s=1 p50_ms=1 p99_ms=1").unwrap_err();
        assert!(err.to_string().contains("not its summary"), "{err}");
        let err = parse_summary("graphile drain_jobs_per_s=x p50_ms=1 p99_ms=1").unwrap_err();
        assert!(err.to_string().contains("not a number"), "{err}");
        let err = parse_summary("graphile drain_jobs_per_s=NaN p50_ms=1 p99_ms=1").unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
    }
}

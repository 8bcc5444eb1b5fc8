//! Finding (or building) the `fleet` binary the harness runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// Subcommands the harness starts.
pub const REQUIRED_SUBCOMMANDS: &[&str] =
    &["emulator", "migrate", "scheduler", "worker", "gateway"];

/// The `fleet` binary: `explicit` (flag or `FLEET_BIN`) when given, else the one next to the
/// running executable (`target/<profile>/fleet`, also from `target/<profile>/deps/`), else
/// built with `cargo build -p fleet` in the same profile and target directory.
pub fn locate(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_owned());
        }
        bail!("fleet binary {} does not exist", path.display());
    }
    let exe = std::env::current_exe().context("cannot find the running executable")?;
    let mut dir = exe.parent().map(Path::to_owned);
    if dir
        .as_deref()
        .and_then(Path::file_name)
        .is_some_and(|n| n == "deps")
    {
        dir = dir.as_deref().and_then(Path::parent).map(Path::to_owned);
    }
    let dir = dir.context("the running executable has no directory")?;
    let candidate = dir.join("fleet");
    if candidate.is_file() {
        return Ok(candidate);
    }
    build(&dir)?;
    if candidate.is_file() {
        Ok(candidate)
    } else {
        bail!(
            "cargo build -p fleet succeeded but {} is missing",
            candidate.display()
        )
    }
}

/// `cargo build -p fleet` into `profile_dir` (`<target>/<profile>`).
fn build(profile_dir: &Path) -> anyhow::Result<()> {
    let target_dir = profile_dir
        .parent()
        .context("the executable is not in a cargo target directory")?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .args(["build", "-p", "fleet", "--target-dir"])
        .arg(target_dir);
    let profile = profile_dir.file_name().and_then(|n| n.to_str());
    match profile {
        Some("release") => {
            cmd.arg("--release");
        }
        Some("debug") | None => {}
        Some(other) => {
            cmd.args(["--profile", other]);
        }
    }
    eprintln!(
        "fleet-chaos: building the fleet binary ({})",
        profile.unwrap_or("debug")
    );
    let status = cmd.status().context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build -p fleet failed with {status}");
    }
    Ok(())
}

/// Fails unless `fleet --help` lists every subcommand the harness needs.
pub fn check_subcommands(bin: &Path) -> anyhow::Result<()> {
    let output = Command::new(bin)
        .arg("--help")
        .output()
        .with_context(|| format!("cannot run {} --help", bin.display()))?;
    let help = String::from_utf8_lossy(&output.stdout);
    let have = subcommands(&help);
    let missing: Vec<&str> = REQUIRED_SUBCOMMANDS
        .iter()
        .copied()
        .filter(|c| !have.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} lacks the subcommand(s) {} (it has: {}); the chaos harness needs every role",
            bin.display(),
            missing.join(", "),
            have.join(", ")
        );
    }
    Ok(())
}

/// Subcommand names from clap's `--help` (the `Commands:` section).
pub fn subcommands(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_section = false;
    for line in help.lines() {
        if line.trim_end() == "Commands:" {
            in_section = true;
            continue;
        }
        if !in_section {
            continue;
        }
        if !line.starts_with(' ') {
            if line.trim().is_empty() {
                continue;
            }
            break;
        }
        // Entries are indented by two spaces; wrapped descriptions by more.
        if line.starts_with("  ")
            && !line.starts_with("   ")
            && let Some(name) = line.split_whitespace().next()
        {
            out.push(name.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_clap_help() {
        let help = "Fleet automation for Scaleway Instances\n\nUsage: fleet <COMMAND>\n\nCommands:\n  emulator     Serve the local Scaleway Instance API emulator\n  migrate      Apply the database migrations and exit\n  scheduler    Run the scheduler service (rescues expired leases, fires schedules,\n               prunes)\n  help         Print this message\n\nOptions:\n  -h, --help     Print help\n";
        assert_eq!(
            subcommands(help),
            ["emulator", "migrate", "scheduler", "help"]
        );
        assert!(subcommands("Usage: x\n").is_empty());
    }
}

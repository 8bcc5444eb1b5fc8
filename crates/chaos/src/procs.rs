//! The child processes: started with a clean environment, killed with SIGKILL on request,
//! restarted, and always killed when the supervisor is dropped (normal end, error or panic).

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};

/// Inherited variables that would change what a child does; the harness sets its own.
const SCRUBBED_PREFIXES: &[&str] = &["SCW_", "FLEET_", "OTEL_", "DATABASE_URL"];

/// How to start one role.
#[derive(Debug, Clone)]
pub struct ProcSpec {
    /// Slot name (`gateway`, `worker2`, …), also the log file name.
    pub name: String,
    /// Arguments after the binary (`["worker"]`).
    pub args: Vec<String>,
    /// Environment on top of the scrubbed parent environment.
    pub env: Vec<(String, String)>,
    /// Worker slot number: the process gets `FLEET_WORKER_ID=w{slot}-{incarnation}`, so each
    /// restart is a new worker as after a pod restart.
    pub worker_slot: Option<usize>,
    /// Whether an unexpected exit may be answered by a restart (the emulator's state is in
    /// memory: restarting it would lose the cloud).
    pub restartable: bool,
}

/// A process that ended without being killed by the harness.
#[derive(Debug, Clone)]
pub struct UnexpectedExit {
    pub name: String,
    pub at: SystemTime,
    pub status: String,
}

/// A process the harness killed.
#[derive(Debug, Clone)]
pub struct Killed {
    pub name: String,
    pub at: SystemTime,
    /// Worker id of the killed incarnation, for workers.
    pub worker_id: Option<String>,
}

#[derive(Debug)]
struct Slot {
    spec: ProcSpec,
    child: Option<Child>,
    incarnation: u32,
    /// Killed by the harness and waiting for its planned restart.
    held_down: bool,
    started: Instant,
}

impl Slot {
    fn worker_id(&self) -> Option<String> {
        self.spec
            .worker_slot
            .map(|n| format!("w{}-{}", n + 1, self.incarnation))
    }
}

/// Every child of the run.
#[derive(Debug)]
pub struct Supervisor {
    bin: PathBuf,
    log_dir: PathBuf,
    slots: Vec<Slot>,
    exits: Vec<UnexpectedExit>,
    /// Set by [`Self::kill_all`]: nothing starts after it, so a background reaper racing the
    /// shutdown cannot bring a process back.
    stopped: bool,
}

/// Unexpected exits are restarted, but not faster than this, so a role that cannot start
/// (Postgres is restarting) does not spin.
const RESTART_BACKOFF: Duration = Duration::from_secs(1);

impl Supervisor {
    pub fn new(bin: PathBuf, log_dir: PathBuf) -> Self {
        Self {
            bin,
            log_dir,
            slots: Vec::new(),
            exits: Vec::new(),
            stopped: false,
        }
    }

    /// Starts a new role.
    pub fn add(&mut self, spec: ProcSpec) -> anyhow::Result<()> {
        if self.slots.iter().any(|s| s.spec.name == spec.name) {
            bail!("two processes named {}", spec.name);
        }
        self.slots.push(Slot {
            spec,
            child: None,
            incarnation: 0,
            held_down: false,
            started: Instant::now(),
        });
        let index = self.slots.len() - 1;
        self.start(index)
    }

    fn index(&self, name: &str) -> anyhow::Result<usize> {
        self.slots
            .iter()
            .position(|s| s.spec.name == name)
            .with_context(|| format!("no process named {name}"))
    }

    fn start(&mut self, index: usize) -> anyhow::Result<()> {
        if self.stopped {
            bail!("the supervisor is stopped");
        }
        let slot = &mut self.slots[index];
        slot.incarnation += 1;
        slot.held_down = false;
        let log_path = self.log_dir.join(format!("{}.log", slot.spec.name));
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let worker_id = slot.worker_id();
        writeln!(
            log,
            "--- fleet-chaos: start {} incarnation {}{}",
            slot.spec.name,
            slot.incarnation,
            worker_id
                .as_deref()
                .map(|id| format!(" as {id}"))
                .unwrap_or_default()
        )
        .context("cannot write the process log")?;
        let mut cmd = Command::new(&self.bin);
        cmd.args(&slot.spec.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("cannot share the log file")?)
            .stderr(log);
        scrub_env(&mut cmd);
        cmd.envs(slot.spec.env.iter().map(|(k, v)| (k, v)));
        if let Some(id) = worker_id {
            cmd.env("FLEET_WORKER_ID", id);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", slot.spec.name))?;
        slot.child = Some(child);
        slot.started = Instant::now();
        Ok(())
    }

    /// SIGKILLs `name` (via [`Child::kill`]) and keeps it down until [`Self::restart`].
    pub fn kill(&mut self, name: &str) -> anyhow::Result<Killed> {
        let index = self.index(name)?;
        let slot = &mut self.slots[index];
        let worker_id = slot.worker_id();
        let at = SystemTime::now();
        if let Some(mut child) = slot.child.take() {
            // An error means it already exited: then it is down, which is what we want.
            let _ = child.kill();
            let _ = child.wait();
        }
        slot.held_down = true;
        Ok(Killed {
            name: name.to_owned(),
            at,
            worker_id,
        })
    }

    /// Starts `name` again (as a new incarnation).
    pub fn restart(&mut self, name: &str) -> anyhow::Result<()> {
        let index = self.index(name)?;
        if let Some(mut child) = self.slots[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.start(index)
    }

    /// The current worker id of a worker slot.
    pub fn worker_id(&self, name: &str) -> Option<String> {
        let slot = self.slots.iter().find(|s| s.spec.name == name)?;
        slot.worker_id()
    }

    /// Notices processes that ended on their own, records them and restarts them (after a
    /// back-off). Fails when one that cannot be restarted ended.
    pub fn reap(&mut self) -> anyhow::Result<()> {
        if self.stopped {
            return Ok(());
        }
        for index in 0..self.slots.len() {
            let slot = &mut self.slots[index];
            if let Some(child) = slot.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                slot.child = None;
                self.exits.push(UnexpectedExit {
                    name: slot.spec.name.clone(),
                    at: SystemTime::now(),
                    status: describe(status),
                });
                if !slot.spec.restartable {
                    bail!(
                        "{} exited on its own ({}); see {}",
                        slot.spec.name,
                        describe(status),
                        self.log_dir
                            .join(format!("{}.log", slot.spec.name))
                            .display()
                    );
                }
            }
            let slot = &self.slots[index];
            if slot.child.is_none() && !slot.held_down && slot.started.elapsed() >= RESTART_BACKOFF
            {
                self.start(index)?;
            }
        }
        Ok(())
    }

    /// Starts every process that is down, planned or not.
    pub fn ensure_all_up(&mut self) -> anyhow::Result<()> {
        for index in 0..self.slots.len() {
            let running = match self.slots[index].child.as_mut() {
                Some(child) => matches!(child.try_wait(), Ok(None)),
                None => false,
            };
            if !running {
                self.start(index)?;
            }
        }
        Ok(())
    }

    /// Processes that ended without being killed by the harness.
    pub fn unexpected_exits(&self) -> &[UnexpectedExit] {
        &self.exits
    }

    /// Where the process logs are.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// Kills every child (SIGKILL) and waits for it.
    pub fn kill_all(&mut self) {
        self.stopped = true;
        for slot in &mut self.slots {
            if let Some(mut child) = slot.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.kill_all();
    }
}

fn scrub_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if SCRUBBED_PREFIXES.iter().any(|p| key.starts_with(p)) {
            cmd.env_remove(key);
        }
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => status.to_string(),
    }
}

/// Runs `fleet <args>` to completion with `env`, failing with the tail of its output.
pub fn run_once(
    bin: &Path,
    args: &[&str],
    env: &[(String, String)],
    log: &Path,
) -> anyhow::Result<()> {
    let file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(file.try_clone().context("cannot share the log file")?)
        .stderr(file);
    scrub_env(&mut cmd);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let status = cmd
        .status()
        .with_context(|| format!("cannot run fleet {}", args.join(" ")))?;
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: String = text
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        bail!(
            "fleet {} failed with {}:\n{tail}",
            args.join(" "),
            describe(status)
        );
    }
    Ok(())
}

/// A free loopback port (bound then released; the child binds it right after).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_restart_reap_and_drop() {
        let dir = tempfile_dir();
        let mut sup = Supervisor::new(PathBuf::from("/bin/sh"), dir.clone());
        sup.add(ProcSpec {
            name: "sleeper".into(),
            args: vec!["-c".into(), "echo $FLEET_WORKER_ID; sleep 60".into()],
            env: vec![],
            worker_slot: Some(1),
            restartable: true,
        })
        .unwrap();
        sup.add(ProcSpec {
            name: "quitter".into(),
            args: vec!["-c".into(), "exit 3".into()],
            env: vec![],
            worker_slot: None,
            restartable: true,
        })
        .unwrap();
        assert_eq!(sup.worker_id("sleeper").as_deref(), Some("w2-1"));
        let killed = sup.kill("sleeper").unwrap();
        assert_eq!(killed.worker_id.as_deref(), Some("w2-1"));
        sup.restart("sleeper").unwrap();
        assert_eq!(sup.worker_id("sleeper").as_deref(), Some("w2-2"));

        let deadline = Instant::now() + Duration::from_secs(10);
        while sup.unexpected_exits().is_empty() && Instant::now() < deadline {
            sup.reap().unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        let exits = sup.unexpected_exits();
        assert_eq!(exits[0].name, "quitter");
        assert_eq!(exits[0].status, "exit code 3");
        drop(sup);
        let log = std::fs::read_to_string(dir.join("sleeper.log")).unwrap();
        assert!(
            log.contains("w2-1") && log.contains("incarnation 2"),
            "{log}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fleet-chaos-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

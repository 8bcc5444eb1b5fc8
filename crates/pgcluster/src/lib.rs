//! Private PostgreSQL clusters started from the server binaries on the machine.
//!
//! A [`Cluster`] is `initdb` + `pg_ctl start` on a free loopback port, in a directory we own.
//! It is used three ways:
//! * tests and benchmarks, through [`testing`], get a fresh database on a shared throwaway cluster
//!   (or on the server `DATABASE_URL` points at, when it is set);
//! * `fleet dev` keeps a cluster under its `--data-dir`, initialised on first run and reused;
//! * the chaos harness restarts a cluster with an immediate shutdown.
//!
//! PostgreSQL refuses to run as root, so when we are root every server command runs as the
//! `postgres` system user and the data directory is handed to that user.
//!
//! Every started cluster is guarded by a watchdog process that shuts the server down when our
//! process goes away, however it goes (panic, SIGKILL, `std::process::exit` in a test harness):
//! a test run never leaves a postgres behind.

pub mod testing;

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a cluster could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "postgresql server binaries not found: looked in $PG_BIN, /usr/lib/postgresql/*/bin and $PATH for initdb and pg_ctl"
    )]
    BinariesNotFound,
    #[error("running as root but there is no `postgres` system user to run the server as")]
    NoPostgresUser,
    #[error("{command} failed with {status}: {output}")]
    CommandFailed {
        command: String,
        status: String,
        output: String,
    },
    #[error("postgresql did not accept connections on port {port} within {seconds} s; log: {log}")]
    StartTimeout {
        port: u16,
        seconds: u64,
        log: String,
    },
    #[error("i/o error while {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let context = context.into();
    move |source| ClusterError::Io { context, source }
}

/// How to start a cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Where the cluster lives. `None` means a fresh temporary directory removed on stop.
    pub data_dir: Option<PathBuf>,
    /// Loopback port; `None` picks a free one.
    pub port: Option<u16>,
    /// Extra `postgres -c name=value` settings.
    pub settings: Vec<(String, String)>,
}

impl ClusterConfig {
    /// A throwaway cluster in a temporary directory on a free port.
    pub fn temporary() -> Self {
        Self {
            data_dir: None,
            port: None,
            settings: Vec::new(),
        }
    }

    /// A cluster kept in `dir` across runs (initialised when the directory is empty).
    pub fn persistent(dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: Some(dir.into()),
            port: None,
            settings: Vec::new(),
        }
    }
}

/// A running private cluster. Stopped (and its temporary directory removed) on drop.
#[derive(Debug)]
pub struct Cluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
    settings: Vec<(String, String)>,
    // Declared before `_temp` so the directory outlives the server.
    watchdog: Option<Watchdog>,
    _temp: Option<tempfile::TempDir>,
}

impl Cluster {
    /// Initialises (if needed) and starts a cluster, waiting until it accepts connections.
    pub fn start(config: ClusterConfig) -> Result<Self, ClusterError> {
        let bin_dir = find_bin_dir()?;
        let run_as = if running_as_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        let (temp, data_dir) = match config.data_dir {
            Some(dir) => (None, dir),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("fleet-pg-")
                    .tempdir()
                    .map_err(io_err("creating a temporary directory"))?;
                let dir = temp.path().join("data");
                (Some(temp), dir)
            }
        };
        let mut cluster = Self {
            bin_dir,
            data_dir,
            port: 0,
            run_as,
            settings: config.settings,
            watchdog: None,
            _temp: temp,
        };
        cluster.prepare_dirs()?;
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        // A port picked free can be taken before postgres binds it; try a few.
        let mut last_err = None;
        for _ in 0..5 {
            cluster.port = match config.port {
                Some(port) => port,
                None => free_port()?,
            };
            match cluster.start_server() {
                Ok(()) => return Ok(cluster),
                Err(err) => {
                    if config.port.is_some() {
                        return Err(err);
                    }
                    last_err = Some(err);
                }
            }
        }
        Err(last_err.unwrap_or(ClusterError::BinariesNotFound))
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Connection URL of database `db` (trust authentication as the `postgres` role).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Stops the server with an immediate shutdown (as a crash would) and starts it again on
    /// the same port. Used by reliability tests.
    pub fn restart_immediate(&mut self) -> Result<(), ClusterError> {
        if let Some(mut watchdog) = self.watchdog.take() {
            watchdog.disarm();
        }
        self.pg_ctl_stop("immediate")?;
        self.start_server()
    }

    /// Stops the server with a fast shutdown.
    pub fn stop(mut self) -> Result<(), ClusterError> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), ClusterError> {
        if self.watchdog.is_none() {
            return Ok(());
        }
        let result = self.pg_ctl_stop("fast");
        if let Some(mut watchdog) = self.watchdog.take() {
            watchdog.disarm();
        }
        result
    }

    fn prepare_dirs(&self) -> Result<(), ClusterError> {
        fs::create_dir_all(&self.data_dir)
            .map_err(io_err(format!("creating {}", self.data_dir.display())))?;
        if let Some((uid, gid)) = self.run_as {
            let mut dir = Some(self.data_dir.as_path());
            // The server user must be able to reach the data directory through its parents.
            if let Some(parent) = self.data_dir.parent()
                && parent.starts_with(std::env::temp_dir())
                && parent != std::env::temp_dir()
            {
                std::os::unix::fs::chown(parent, Some(uid), Some(gid))
                    .map_err(io_err(format!("handing {} to postgres", parent.display())))?;
            }
            while let Some(path) = dir.take() {
                std::os::unix::fs::chown(path, Some(uid), Some(gid))
                    .map_err(io_err(format!("handing {} to postgres", path.display())))?;
            }
        }
        let mut perms = fs::metadata(&self.data_dir)
            .map_err(io_err("reading data directory"))?
            .permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
        fs::set_permissions(&self.data_dir, perms).map_err(io_err("securing data directory"))?;
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd.env_remove("PGDATA").current_dir(&self.data_dir);
        cmd
    }

    fn initdb(&self) -> Result<(), ClusterError> {
        let mut cmd = self.command("initdb");
        cmd.arg("-D")
            .arg(&self.data_dir)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .arg("--locale=C");
        run(cmd, "initdb")
    }

    fn start_server(&mut self) -> Result<(), ClusterError> {
        let log = self.data_dir.join("server.log");
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' -c max_connections=400",
            self.port,
            self.data_dir.display()
        );
        for (name, value) in &self.settings {
            options.push_str(&format!(" -c {name}={value}"));
        }
        let mut cmd = self.command("pg_ctl");
        cmd.arg("start")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(options)
            .args(["-w", "-t", "60"]);
        if let Err(err) = run(cmd, "pg_ctl start") {
            let log_text = fs::read_to_string(&log).unwrap_or_default();
            return Err(match err {
                ClusterError::CommandFailed {
                    command,
                    status,
                    output,
                } => ClusterError::CommandFailed {
                    command,
                    status,
                    output: format!("{output}\n{}", tail(&log_text, 2000)),
                },
                other => other,
            });
        }
        self.wait_ready(&log)?;
        self.watchdog = Some(Watchdog::arm(
            &self.data_dir,
            self._temp.as_ref().map(|t| t.path()),
        )?);
        Ok(())
    }

    fn wait_ready(&self, log: &Path) -> Result<(), ClusterError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(ClusterError::StartTimeout {
            port: self.port,
            seconds: 60,
            log: tail(&fs::read_to_string(log).unwrap_or_default(), 2000),
        })
    }

    fn pg_ctl_stop(&self, mode: &str) -> Result<(), ClusterError> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("stop")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", mode, "-w", "-t", "60"]);
        run(cmd, "pg_ctl stop")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(err) = self.stop_inner() {
            tracing::warn!(error = %err, "failed to stop private postgres cluster");
        }
    }
}

/// A `sh` process reading a pipe from us: when the pipe closes (we exited, however), it stops
/// the server with an immediate shutdown and removes the temporary directory.
#[derive(Debug)]
struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    fn arm(data_dir: &Path, remove: Option<&Path>) -> Result<Self, ClusterError> {
        let pid_file = data_dir.join("postmaster.pid");
        let remove = remove
            .map(|p| format!("rm -rf '{}'", p.display()))
            .unwrap_or_default();
        // SIGQUIT is postgres' immediate shutdown. `read` returns on EOF or on the word "disarm".
        let script = format!(
            "read line; if [ \"$line\" = disarm ]; then exit 0; fi; \
             pid=$(head -n 1 '{pid}' 2>/dev/null); \
             if [ -n \"$pid\" ]; then kill -QUIT \"$pid\" 2>/dev/null; \
               i=0; while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; fi; \
             {remove}",
            pid = pid_file.display()
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(io_err("starting the postgres watchdog"))?;
        let stdin = child.stdin.take();
        Ok(Self { child, stdin })
    }

    fn disarm(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"disarm\n");
        }
        let _ = self.child.wait();
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), ClusterError> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("running {what}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ClusterError::CommandFailed {
            command: what.to_string(),
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

fn tail(text: &str, max: usize) -> String {
    let start = text.len().saturating_sub(max);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

/// The directory holding `initdb` and `pg_ctl`: `$PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin`, else whatever `$PATH` finds.
pub fn find_bin_dir() -> Result<PathBuf, ClusterError> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("PG_BIN").map(PathBuf::from)
        && has_tools(&dir)
    {
        return Ok(dir);
    }
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                has_tools(&bin).then_some((version, bin))
            })
            .collect();
        versions.sort();
        if let Some((_, bin)) = versions.pop() {
            return Ok(bin);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_tools(&dir) {
                // Resolve symlinks so the server finds its libraries and share directory.
                let initdb = fs::canonicalize(dir.join("initdb")).unwrap_or(dir.join("initdb"));
                return Ok(initdb.parent().map(Path::to_path_buf).unwrap_or(dir));
            }
        }
    }
    Err(ClusterError::BinariesNotFound)
}

fn running_as_root() -> bool {
    // The owner of /proc/self is our effective uid; this avoids unsafe libc calls.
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn postgres_user() -> Result<(u32, u32), ClusterError> {
    let passwd = fs::read_to_string("/etc/passwd").map_err(io_err("reading /etc/passwd"))?;
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            if fields.next()? != "postgres" {
                return None;
            }
            let uid = fields.nth(1)?.parse().ok()?;
            let gid = fields.next()?.parse().ok()?;
            Some((uid, gid))
        })
        .ok_or(ClusterError::NoPostgresUser)
}

fn free_port() -> Result<u16, ClusterError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io_err("finding a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io_err("finding a free port"))?
        .port();
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_respects_char_boundaries() {
        assert_eq!(tail("héllo", 4), "llo");
        assert_eq!(tail("abc", 10), "abc");
    }

    #[test]
    fn temporary_cluster_starts_accepts_connections_and_cleans_up() {
        let cluster = Cluster::start(ClusterConfig::temporary()).expect("cluster starts");
        let data_dir = cluster.data_dir().to_path_buf();
        assert!(std::net::TcpStream::connect(("127.0.0.1", cluster.port())).is_ok());
        cluster.stop().expect("cluster stops");
        // The temporary directory goes with the cluster.
        assert!(!data_dir.exists());
    }

    #[test]
    fn persistent_cluster_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("pg");
        let first = Cluster::start(ClusterConfig::persistent(&data)).unwrap();
        first.stop().unwrap();
        let version = fs::read_to_string(data.join("PG_VERSION")).unwrap();
        let second = Cluster::start(ClusterConfig::persistent(&data)).unwrap();
        assert_eq!(
            fs::read_to_string(data.join("PG_VERSION")).unwrap(),
            version
        );
        second.stop().unwrap();
    }
}

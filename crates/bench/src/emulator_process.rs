//! The emulator in a child process of a benchmark binary, so that its JSON rendering and
//! world lock do not share the measured process's runtime.
//!
//! The binary re-executes itself with [`SERVE_EMULATOR`] ([`run_or_serve`] picks the side).
//! The child serves the emulator, prints `listening http://ADDR` once bound, and answers
//! lines on stdin: `stats` (`requests=… rate_limited=…`), `clear` (forgets the call log,
//! answers `cleared`) and `calls` (one [`Call`] line a record, then `end`). It exits when its
//! stdin closes (its parent is gone).

use std::future::Future;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use fleet_emulator::{CallRecord, Emulator, Quotas};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The hidden flag that turns a benchmark binary into the emulator's process.
pub const SERVE_EMULATOR: &str = "--serve-emulator";

/// Runs `bench` on a multi-threaded runtime, or serves the emulator when this process is the
/// child started by [`EmulatorProcess::spawn`].
pub fn run_or_serve<F, Fut>(bench: F) -> anyhow::Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut raw = std::env::args().skip(1).peekable();
    if raw.peek().map(String::as_str) == Some(SERVE_EMULATOR) {
        raw.next();
        return runtime.block_on(serve(raw));
    }
    runtime.block_on(bench())
}

/// One upstream call of the emulator's call log, as the child reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub at: SystemTime,
    pub method: String,
    /// Path without the query.
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
}

impl Call {
    const PREFIX: &'static str = "call ";

    /// `call MICROS STATUS METHOD PATH QUERY` (`-` for no query): paths and queries are
    /// percent-encoded, so they hold no space.
    fn line(record: &CallRecord) -> String {
        let micros = record
            .at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        format!(
            "{}{micros} {} {} {} {}",
            Self::PREFIX,
            record.status,
            record.method,
            record.path,
            record.query.as_deref().unwrap_or("-")
        )
    }

    fn parse(line: &str) -> anyhow::Result<Self> {
        let rest = line
            .strip_prefix(Self::PREFIX)
            .with_context(|| format!("not a call line: {line:?}"))?;
        let fields: Vec<&str> = rest.split(' ').collect();
        let [micros, status, method, path, query] = fields.as_slice() else {
            bail!("a call line has 5 fields: {line:?}");
        };
        Ok(Self {
            at: SystemTime::UNIX_EPOCH + Duration::from_micros(micros.parse()?),
            method: (*method).to_owned(),
            path: (*path).to_owned(),
            query: Some(*query).filter(|q| *q != "-").map(str::to_owned),
            status: status.parse()?,
        })
    }
}

/// `--listen ADDR --transition-ms N --rate-limit R`: the child's side.
async fn serve(mut flags: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse()?;
    let mut transition = Duration::from_secs(2);
    let mut rate = 20.0f64;
    while let Some(flag) = flags.next() {
        let value = flags
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => listen = value.parse()?,
            "--transition-ms" => transition = Duration::from_millis(value.parse()?),
            "--rate-limit" => rate = value.parse()?,
            other => bail!("unknown emulator flag {other}"),
        }
    }
    let quotas = Quotas {
        servers: 1_000_000,
        volumes: 1_000_000,
        ..Quotas::default()
    };
    let emu = Emulator::builder()
        .listen(listen)
        .transition(transition)
        .rate_limit(rate, rate.ceil() as u32)
        .quotas(quotas)
        .start()
        .await?;
    println!("listening {}", emu.base_url());
    // Stdin is read on a thread of its own (blocking reads); its end is the parent's.
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = lines.recv().await {
        match line.trim() {
            "stats" => {
                let log = emu.call_log();
                let rate_limited = log.iter().filter(|c| c.status == 429).count();
                println!("requests={} rate_limited={rate_limited}", log.len());
            }
            "clear" => {
                emu.clear_call_log();
                println!("cleared");
            }
            "calls" => {
                use std::io::Write as _;
                let mut out = std::io::stdout().lock();
                for record in emu.call_log() {
                    writeln!(out, "{}", Call::line(&record))?;
                }
                writeln!(out, "end")?;
                out.flush()?;
            }
            other => eprintln!("emulator process: unknown command {other:?}"),
        }
    }
    emu.shutdown().await;
    Ok(())
}

/// The emulator's child process; killed when dropped.
pub struct EmulatorProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    pub base_url: String,
}

impl EmulatorProcess {
    /// Starts this binary as the emulator, with `transition` and `rate` requests/s per zone.
    pub async fn spawn(transition: Duration, rate: f64) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating this binary")?;
        let mut child = tokio::process::Command::new(exe)
            .arg(SERVE_EMULATOR)
            .args(["--listen", "127.0.0.1:0"])
            .args(["--transition-ms", &transition.as_millis().to_string()])
            .args(["--rate-limit", &rate.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the emulator process")?;
        let stdin = child.stdin.take().context("emulator stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("emulator stdout")?).lines();
        let base_url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = stdout.next_line().await? {
                if let Some(url) = line.strip_prefix("listening ") {
                    return Ok(url.to_owned());
                }
            }
            bail!("the emulator process exited before listening")
        })
        .await
        .context("the emulator process did not start within 30 s")??;
        Ok(Self {
            child,
            stdin,
            stdout,
            base_url,
        })
    }

    async fn command(&mut self, command: &str) -> anyhow::Result<()> {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await?;
        self.stdin.flush().await?;
        Ok(())
    }

    async fn answer(&mut self) -> anyhow::Result<String> {
        self.stdout
            .next_line()
            .await?
            .context("the emulator process exited")
    }

    /// `(requests, rate_limited)` from the emulator's call log.
    pub async fn stats(&mut self) -> anyhow::Result<(usize, usize)> {
        self.command("stats").await?;
        let line = self.answer().await?;
        let mut requests = None;
        let mut rate_limited = None;
        for part in line.split_whitespace() {
            match part.split_once('=') {
                Some(("requests", v)) => requests = Some(v.parse()?),
                Some(("rate_limited", v)) => rate_limited = Some(v.parse()?),
                _ => {}
            }
        }
        Ok((
            requests.context("no requests= in the stats")?,
            rate_limited.context("no rate_limited= in the stats")?,
        ))
    }

    /// Forgets the emulator's call log.
    pub async fn clear_calls(&mut self) -> anyhow::Result<()> {
        self.command("clear").await?;
        match self.answer().await?.as_str() {
            "cleared" => Ok(()),
            other => bail!("the emulator process answered {other:?} to clear"),
        }
    }

    /// Every call in the emulator's call log, oldest first.
    pub async fn calls(&mut self) -> anyhow::Result<Vec<Call>> {
        self.command("calls").await?;
        let mut calls = Vec::new();
        loop {
            let line = self.answer().await?;
            if line == "end" {
                return Ok(calls);
            }
            calls.push(Call::parse(&line)?);
        }
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_line_reads_back_as_the_record() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_764_700_000_123_456);
        let record = CallRecord {
            at,
            method: "GET".into(),
            path: "/instance/v1/zones/fr-par-1/servers".into(),
            query: Some("servers=a%2Cb&per_page=100".into()),
            zone: Some("fr-par-1".into()),
            status: 200,
            caller: None,
        };
        let call = Call::parse(&Call::line(&record)).unwrap();
        assert_eq!(
            call,
            Call {
                at,
                method: "GET".into(),
                path: record.path.clone(),
                query: record.query.clone(),
                status: 200,
            }
        );
        let bare = CallRecord {
            query: None,
            ..record
        };
        assert_eq!(Call::parse(&Call::line(&bare)).unwrap().query, None);
        assert!(Call::parse("call 1 200 GET /x").is_err());
    }
}

//! Long-running operations: the `operations` commands, the `--wait` loop driven
//! by `Operations.WatchOperation` with a progress display, and printing an
//! operation's result (its response unpacked, or its error as exit code 8).

use std::io::IsTerminal as _;
use std::time::Duration;

use clap::Subcommand;
use fleet_proto::v1;
use indicatif::{ProgressBar, ProgressStyle};
use prost::Name as _;
use tonic::Code;

use crate::args::{Paging, operation_name};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::output::{self, Format};

#[derive(Subcommand, Debug)]
pub enum OperationsCmd {
    /// List operations of your projects, newest first
    List {
        /// Only this zone (default: every zone)
        #[arg(long, env = crate::args::ZONE_ENV, default_value = crate::args::scw_default_zone().unwrap_or(""))]
        zone: String,
        /// Only this state: queued, running, succeeded, failed, cancelled
        #[arg(long)]
        state: Option<String>,
        /// Only this kind, e.g. server_action.poweron
        #[arg(long)]
        kind: Option<String>,
        /// Only on this resource, e.g. zones/fr-par-1/servers/ID
        #[arg(long)]
        resource: Option<String>,
        /// Only finished (true) or unfinished (false) operations
        #[arg(long)]
        done: Option<bool>,
        /// Only this project
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show an operation (name `operations/ID` or the bare ID)
    Get { name: String },
    /// Block until the operation finishes, then print its result
    Wait { name: String },
    /// Follow the operation's progress until it finishes, then print its result
    Watch { name: String },
    /// Ask the operation to stop at its next step (best effort)
    Cancel { name: String },
}

pub async fn run(ctx: &Ctx, cmd: OperationsCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.operations();
    match cmd {
        OperationsCmd::List {
            zone,
            state,
            kind,
            resource,
            done,
            project,
            paging,
        } => {
            let request = v1::ListOperationsRequest {
                state,
                kind,
                zone,
                resource,
                done,
                project,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.operations();
                async move { c.list_operations(r).await }
            })
            .await
        }
        OperationsCmd::Get { name } => {
            let op = client
                .get_operation(v1::GetOperationRequest {
                    name: operation_name(&name),
                })
                .await?
                .into_inner();
            ctx.print(&op)
        }
        OperationsCmd::Cancel { name } => {
            let op = client
                .cancel_operation(v1::CancelOperationRequest {
                    name: operation_name(&name),
                })
                .await?
                .into_inner();
            ctx.print(&op)
        }
        OperationsCmd::Wait { name } => {
            let done = wait(ctx, &operation_name(&name)).await?;
            print_result(ctx, done)
        }
        OperationsCmd::Watch { name } => {
            let done = watch(ctx, &operation_name(&name), true).await?;
            print_result(ctx, done)
        }
    }
}

/// Retries of a broken watch stream before giving up.
const MAX_RECONNECTS: u32 = 5;

/// Follows the operation until it is done and returns its final state.
/// Ctrl-C stops following (the operation goes on); so does `--wait-timeout`.
pub async fn watch(ctx: &Ctx, name: &str, show: bool) -> Result<v1::Operation, CliError> {
    let follow = follow(ctx, name, show);
    bounded(ctx, name, follow).await
}

/// Waits with `WaitOperation` (no progress display), for scripts.
pub async fn wait(ctx: &Ctx, name: &str) -> Result<v1::Operation, CliError> {
    // Each WaitOperation must return before the call deadline, or the wait
    // itself would fail with DEADLINE_EXCEEDED; the server caps it at 60 s.
    let per_call = ctx
        .call_timeout
        .saturating_sub(Duration::from_secs(2))
        .clamp(Duration::from_secs(1), Duration::from_secs(55));
    let poll = async {
        let mut client = ctx.gateway.operations();
        loop {
            let op = client
                .wait_operation(v1::WaitOperationRequest {
                    name: name.to_owned(),
                    timeout: Some(prost_types::Duration {
                        seconds: i64::try_from(per_call.as_secs()).unwrap_or(55),
                        nanos: 0,
                    }),
                })
                .await?
                .into_inner();
            if op.done {
                return Ok(op);
            }
        }
    };
    bounded(ctx, name, poll).await
}

/// Runs `work` until it ends, Ctrl-C, or the wait timeout.
async fn bounded(
    ctx: &Ctx,
    name: &str,
    work: impl std::future::Future<Output = Result<v1::Operation, CliError>>,
) -> Result<v1::Operation, CliError> {
    let timeout = async {
        match ctx.wait_timeout {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted(name.to_owned())),
        () = timeout => Err(CliError::Status(tonic::Status::deadline_exceeded(format!(
            "operation {name} still running after --wait-timeout; follow it with `fleetctl operations watch {name}`"
        )))),
    }
}

async fn follow(ctx: &Ctx, name: &str, show: bool) -> Result<v1::Operation, CliError> {
    let mut client = ctx.gateway.operations();
    let mut progress = Progress::new(show);
    let mut reconnects = 0;
    loop {
        let result = client
            .watch_operation(v1::WatchOperationRequest {
                name: name.to_owned(),
            })
            .await;
        let broken = match result {
            Ok(response) => {
                let mut stream = response.into_inner();
                loop {
                    match stream.message().await {
                        Ok(Some(op)) => {
                            reconnects = 0;
                            progress.update(&op);
                            if op.done {
                                progress.finish();
                                return Ok(op);
                            }
                        }
                        // The stream ends after done; an earlier end is a
                        // dropped connection or a restarted gateway.
                        Ok(None) => break None,
                        Err(status) => break Some(status),
                    }
                }
            }
            Err(status) => Some(status),
        };
        if let Some(status) = &broken
            && !matches!(
                status.code(),
                Code::Unavailable | Code::Unknown | Code::Internal
            )
        {
            progress.finish();
            return Err(CliError::Status(status.clone()));
        }
        reconnects += 1;
        if reconnects > MAX_RECONNECTS {
            progress.finish();
            return Err(match broken {
                Some(status) => CliError::Status(status),
                None => CliError::Protocol(format!(
                    "the watch of {name} kept ending before the operation was done"
                )),
            });
        }
        progress.note(&format!(
            "watch interrupted, reconnecting ({reconnects}/{MAX_RECONNECTS})"
        ));
        tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(reconnects))).await;
    }
}

/// Progress on stderr: a bar on a terminal, one line per change otherwise
/// (logs of scripts and CI stay readable).
struct Progress {
    show: bool,
    bar: Option<ProgressBar>,
    last_line: String,
    history_seen: usize,
}

impl Progress {
    fn new(show: bool) -> Self {
        let bar = (show && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(100);
            if let Ok(style) = ProgressStyle::with_template("{spinner} [{bar:30}] {pos:>3}% {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            show,
            bar,
            last_line: String::new(),
            history_seen: 0,
        }
    }

    fn update(&mut self, op: &v1::Operation) {
        if !self.show {
            return;
        }
        let Some(meta) = metadata(op) else {
            return;
        };
        for transition in meta.history.iter().skip(self.history_seen) {
            let detail = if transition.state_detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", transition.state_detail)
            };
            self.note(&format!("  observed {}{detail}", transition.state));
        }
        self.history_seen = self.history_seen.max(meta.history.len());
        let (percent, line) = match &meta.batch {
            // A batch's one bar: its children done / failed / in flight.
            Some(batch) => (
                i32::try_from(crate::batch::progress_percent(batch)).unwrap_or(100),
                crate::batch::progress_line(batch),
            ),
            None => {
                let mut line = format!("{} {}", meta.state, meta.step);
                if !meta.message.is_empty() {
                    line.push_str(": ");
                    line.push_str(&meta.message);
                }
                (meta.percent.clamp(0, 100), line)
            }
        };
        match &self.bar {
            Some(bar) => {
                bar.set_position(u64::try_from(percent).unwrap_or(0));
                bar.set_message(line);
            }
            None => {
                let line = format!("[{percent:>3}%] {line}");
                if line != self.last_line {
                    output::note(&line);
                    self.last_line = line;
                }
            }
        }
    }

    fn note(&self, line: &str) {
        if !self.show {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(line),
            None => output::note(line),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The operation's metadata, when it carries the documented type.
fn metadata(op: &v1::Operation) -> Option<v1::OperationMetadata> {
    op.metadata.as_ref()?.to_msg().ok()
}

/// Prints what a finished operation resolved to, or fails with its error.
pub fn print_result(ctx: &Ctx, op: v1::Operation) -> Result<(), CliError> {
    match op.result {
        Some(v1::operation::Result::Error(status)) => Err(CliError::OperationFailed {
            name: op.name,
            status,
        }),
        Some(v1::operation::Result::Response(any)) => print_any(ctx, &any),
        None if op.done => {
            // Done without a result breaks AIP-151; show the operation as is.
            ctx.print(&op)
        }
        None => {
            let name = op.name.clone();
            ctx.print(&op)?;
            Err(CliError::Status(tonic::Status::deadline_exceeded(format!(
                "operation {name} is not done yet"
            ))))
        }
    }
}

/// Prints a packed response: typed when it is one of the documented response
/// types (so unset nullable fields print as `null`), dynamically otherwise.
fn print_any(ctx: &Ctx, any: &prost_types::Any) -> Result<(), CliError> {
    macro_rules! typed {
        ($($ty:ty),*) => {$(
            if any.type_url == <$ty>::type_url() {
                let message: $ty = any
                    .to_msg()
                    .map_err(|err| CliError::Protocol(format!("cannot decode {}: {err}", any.type_url)))?;
                return ctx.print(&message);
            }
        )*};
    }
    typed!(
        v1::Server,
        v1::ServerActionResult,
        v1::DeleteServerResult,
        v1::Image,
        v1::Snapshot,
        v1::ExportSnapshotResult,
        v1::Volume,
        v1::MigrationPlan,
        v1::PrivateNic,
        v1::Batch
    );
    let type_name = any.type_url.rsplit('/').next().unwrap_or_default();
    let desc = fleet_proto::descriptor_pool()
        .get_message_by_name(type_name)
        .ok_or_else(|| CliError::Protocol(format!("unknown response type {}", any.type_url)))?;
    let message = prost_reflect::DynamicMessage::decode(desc.clone(), any.value.as_slice())
        .map_err(|err| CliError::Protocol(format!("cannot decode {}: {err}", any.type_url)))?;
    let value = crate::call::dynamic_to_json(&message)?;
    if ctx.printer.format == Format::Table && value.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(());
    }
    ctx.printer.value(&value, Some(&desc))
}

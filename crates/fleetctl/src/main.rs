//! fleetctl, the command-line client of the fleet gateway (gRPC `fleet.v1`).
//!
//! Parsing is clap ([`Cli`]); each resource family has a module under
//! [`commands`] with its subcommands and their calls; [`ctx::Ctx`] holds the connection and printer;
//! errors become the documented exit codes in [`error`].

mod args;
mod audit;
mod batch;
mod call;
mod client;
mod commands;
mod ctx;
mod error;
mod operations;
mod output;
mod policies;
mod schedule;
mod selection;
mod table;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::client::{ConnectOptions, Gateway, Token};
use crate::commands::{
    block_migration, dashboard, images, ips, placement_groups, private_nics, products,
    security_groups, servers, snapshots, user_data, volumes,
};
use crate::error::CliError;
use crate::output::{Format, Printer};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  other error (internal, unknown, unimplemented)
  2  usage: bad flags, arguments or input files (nothing was sent)
  3  not found (check the id and --zone)
  4  invalid argument (the gateway names the field)
  5  authentication or permission (FLEET_TOKEN / --token)
  6  failed precondition, conflict, busy resource or quota
  7  unavailable or timed out (retrying may help)
  8  the operation finished with an error or was cancelled (--wait, operations wait/watch),
     or a batch run --wait halted, was cancelled or had a child fail
  130 interrupted while waiting (the operation goes on)

Examples:
  fleetctl servers create --zone fr-par-1 --name web-1 --commercial-type DEV1-S --image ubuntu_noble --wait
  fleetctl servers action --zone fr-par-1 SERVER_ID poweron --wait
  fleetctl servers get --zone fr-par-1 SERVER_ID -o json
  fleetctl servers list --zone all --tag web --all-pages
  fleetctl call Servers/GetServer --data '{\"zone\":\"fr-par-1\",\"server_id\":\"ID\"}'";

/// Command-line client of the fleet gateway: Scaleway Instances in every zone,
/// with long-running operations you can follow.
#[derive(Parser, Debug)]
#[command(name = "fleetctl", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Gateway address
    #[arg(
        long,
        env = "FLEET_ADDR",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub addr: String,
    /// Gateway token, sent as `authorization: Bearer …` (never printed)
    #[arg(long, env = "FLEET_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value = "table", global = true)]
    pub output: Format,
    /// Deadline of each call and of connecting, in seconds
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub timeout: u64,
    /// Longest wait for an operation (--wait, operations wait/watch), in seconds; default: no limit
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub wait_timeout: Option<u64>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Instances: list, get, create, update, delete, actions, volumes
    #[command(subcommand)]
    Servers(servers::ServersCmd),
    /// User data of a server (cloud-init and other keys)
    #[command(subcommand, name = "user-data")]
    UserData(user_data::UserDataCmd),
    /// Images
    #[command(subcommand)]
    Images(images::ImagesCmd),
    /// Snapshots: create, import, export to Object Storage, list, delete
    #[command(subcommand)]
    Snapshots(snapshots::SnapshotsCmd),
    /// Volumes
    #[command(subcommand)]
    Volumes(volumes::VolumesCmd),
    /// Block storage migration (b_ssd → SBS): plan, apply
    #[command(subcommand, name = "block-migration")]
    BlockMigration(block_migration::BlockMigrationCmd),
    /// Security groups and their rules
    #[command(subcommand, name = "security-groups")]
    SecurityGroups(security_groups::SecurityGroupsCmd),
    /// Placement groups and their servers
    #[command(subcommand, name = "placement-groups")]
    PlacementGroups(placement_groups::PlacementGroupsCmd),
    /// Flexible IPs
    #[command(subcommand)]
    Ips(ips::IpsCmd),
    /// Private NICs of a server
    #[command(subcommand, name = "private-nics")]
    PrivateNics(private_nics::PrivateNicsCmd),
    /// Server types, their availability and volume types
    #[command(subcommand)]
    Products(products::ProductsCmd),
    /// Resource counts of a zone
    Dashboard(dashboard::DashboardArgs),
    /// Long-running operations: list, get, wait, watch, cancel
    #[command(subcommand)]
    Operations(operations::OperationsCmd),
    /// The audit log of mutating calls: list (by caller, method, resource, --since)
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Batches: one server action over a selection, with a rollout policy (run, plan, get,
    /// list, pause, resume, cancel)
    #[command(subcommand)]
    Batch(batch::BatchCmd),
    /// Policies that run on their own: snapshots on cron schedules with retention, power
    /// schedules (create snapshot|power, get, list, update, delete, pause, resume, run, runs)
    #[command(subcommand)]
    Policies(policies::PoliciesCmd),
    /// Call any fleet.v1 method with a JSON request
    Call(call::CallArgs),
}

fn main() -> ExitCode {
    // Usage errors exit with 2 and --help/--version with 0, as clap's own `parse` does.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            output::note(&format!("error: cannot start the async runtime: {err}"));
            return ExitCode::from(error::exit::GENERIC);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            output::note(&format!("error: {err}"));
            ExitCode::from(err.exit_code())
        }
    }
}

/// Prints clap's message (help to stdout, errors to stderr), naming every source of a
/// missing zone, and gives clap's exit code.
fn usage_error(err: &clap::Error) -> ExitCode {
    // Printing can only fail on a closed stream, where nothing more can be said.
    let _ = err.print();
    if needs_zone_hint(err) {
        output::note(args::ZONE_HINT);
    }
    ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(error::exit::GENERIC))
}

/// Whether `err` is a zonal command's missing `--zone` (which FLEET_ZONE and
/// SCW_DEFAULT_ZONE can give). The derive raises a missing flattened `--zone` with an
/// environment default as a raw error naming the field (`…not provided: zone`) with no
/// argument context, so the message is all there is; an error with that context names
/// other missing flags (e.g. `batch`'s `--action`, or its own `--zone`, read from no
/// variable).
fn needs_zone_hint(err: &clap::Error) -> bool {
    err.kind() == clap::error::ErrorKind::MissingRequiredArgument
        && err.get(clap::error::ContextKind::InvalidArg).is_none()
        && err.to_string().contains("zone")
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let printer = Printer { format: cli.output };
    if let Command::Call(args) = &cli.command
        && args.list
    {
        // Listing methods needs no gateway.
        return call::list_methods();
    }
    // A usage error of flags clap cannot check alone is found before connecting.
    if let Command::Policies(cmd) = &cli.command {
        policies::check(cmd)?;
    }
    let gateway = Gateway::connect(ConnectOptions {
        addr: cli.addr,
        token: Token::new(cli.token.as_deref())?,
        timeout: Duration::from_secs(cli.timeout),
    })
    .await?;
    let ctx = ctx::Ctx {
        gateway,
        printer,
        call_timeout: Duration::from_secs(cli.timeout),
        wait_timeout: cli.wait_timeout.map(Duration::from_secs),
    };
    match cli.command {
        Command::Servers(cmd) => servers::run(&ctx, cmd).await,
        Command::UserData(cmd) => user_data::run(&ctx, cmd).await,
        Command::Images(cmd) => images::run(&ctx, cmd).await,
        Command::Snapshots(cmd) => snapshots::run(&ctx, cmd).await,
        Command::Volumes(cmd) => volumes::run(&ctx, cmd).await,
        Command::BlockMigration(cmd) => block_migration::run(&ctx, cmd).await,
        Command::SecurityGroups(cmd) => security_groups::run(&ctx, cmd).await,
        Command::PlacementGroups(cmd) => placement_groups::run(&ctx, cmd).await,
        Command::Ips(cmd) => ips::run(&ctx, cmd).await,
        Command::PrivateNics(cmd) => private_nics::run(&ctx, cmd).await,
        Command::Products(cmd) => products::run(&ctx, cmd).await,
        Command::Dashboard(args) => dashboard::run(&ctx, args).await,
        Command::Operations(cmd) => operations::run(&ctx, cmd).await,
        Command::Audit(cmd) => audit::run(&ctx, cmd).await,
        Command::Batch(cmd) => batch::run(&ctx, cmd).await,
        Command::Policies(cmd) => policies::run(&ctx, cmd).await,
        Command::Call(args) => call::run(&ctx, args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("fleetctl").chain(args.iter().copied()))
    }

    #[test]
    fn brief_examples_parse() {
        let cli = parse(&[
            "servers",
            "create",
            "--zone",
            "fr-par-1",
            "--name",
            "web-1",
            "--commercial-type",
            "DEV1-S",
            "--image",
            "ubuntu_noble",
            "--start",
            "--tag",
            "a",
            "--tag",
            "b",
            "--user-data",
            "cloud-init=@init.yaml",
            "--wait",
        ])
        .unwrap();
        let Command::Servers(servers::ServersCmd::Create(create)) = cli.command else {
            panic!("not servers create");
        };
        assert_eq!(create.tags, ["a", "b"]);
        assert!(create.start && create.long.wait);
        assert_eq!(create.user_data[0].key, "cloud-init");

        let cli = parse(&[
            "servers", "action", "--zone", "fr-par-1", "S", "poweron", "--wait",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Servers(servers::ServersCmd::Action { .. })
        ));

        let cli = parse(&["servers", "get", "--zone", "fr-par-1", "S", "-o", "json"]).unwrap();
        assert_eq!(cli.output, Format::Json);

        parse(&[
            "servers",
            "list",
            "--zone",
            "all",
            "--all-pages",
            "--page-size",
            "100",
        ])
        .unwrap();
        parse(&["operations", "watch", "operations/1"]).unwrap();
        parse(&[
            "snapshots",
            "export",
            "--zone",
            "fr-par-1",
            "SNAP",
            "--bucket",
            "b",
            "--key",
            "k.qcow2",
        ])
        .unwrap();
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let err = parse(&["servers", "list", "--zone", "all", "--page-size", "0"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err =
            parse(&["servers", "delete", "--zone", "z", "S", "--request-id", "x"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err = parse(&["servers", "action", "--zone", "z", "S", "explode"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err = parse(&[
            "servers",
            "list",
            "--zone",
            "z",
            "--all-pages",
            "--page-token",
            "t",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn only_a_zonal_commands_missing_zone_gets_the_zone_hint() {
        let raw = clap::Error::raw(
            clap::error::ErrorKind::MissingRequiredArgument,
            "the following required argument was not provided: zone",
        );
        assert!(needs_zone_hint(&raw));
        // Its usage line names --zone, but what is missing is --cron.
        let err = parse(&["policies", "create", "snapshot", "--zone", "all"]).unwrap_err();
        assert!(err.to_string().contains("--zone"), "{err}");
        assert!(!needs_zone_hint(&err), "{err}");
        let err = parse(&["batch", "run", "--action", "reboot"]).unwrap_err();
        assert!(!needs_zone_hint(&err), "{err}");
    }

    #[test]
    fn help_documents_exit_codes_and_hides_the_token() {
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("8  the operation finished with an error"),
            "{help}"
        );
        assert!(help.contains("FLEET_TOKEN"), "{help}");
    }
}

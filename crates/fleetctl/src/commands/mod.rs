//! The typed commands, one module per resource family (its clap subcommands
//! and the calls they make), and the shapes every family shares: printing
//! what a call answers ([`show`]), handing a started operation to `--wait`
//! ([`start`]), confirming an empty answer ([`confirm`]), building an update
//! mask from the flags given ([`Changes`]), reading a resource from a file
//! ([`from_file`]), listing page by page ([`list!`]) and moving the
//! arguments into a request ([`request!`]).

pub mod block_migration;
pub mod dashboard;
pub mod images;
pub mod ips;
pub mod placement_groups;
pub mod private_nics;
pub mod products;
pub mod rules;
pub mod security_groups;
pub mod servers;
pub mod snapshots;
pub mod user_data;
pub mod volumes;

use std::future::Future;

use fleet_proto::v1;

use clap::Args;

use crate::args::{LongRunning, Mutation, Source, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::output;

/// What a unary call of the gateway resolves to.
type Answer<M> = Result<tonic::Response<M>, tonic::Status>;

/// Calls a List method through [`Ctx::list`], each page on a fresh client of
/// the service: `list!(ctx, images.list_images, request, paging)`.
macro_rules! list {
    ($ctx:expr, $service:ident . $method:ident, $request:expr, $paging:expr) => {
        $ctx.list($request, &$paging, |request| {
            let mut client = $ctx.gateway.$service();
            async move { client.$method(request).await }
        })
        .await
    };
}
pub(crate) use list;

/// A fleet.v1 request built from parsed arguments, like struct update syntax:
/// the fields given first, then those the arguments name the same way
/// (`..args => name, tags` moves `args.name` and `args.tags`), the rest default.
macro_rules! request {
    (
        $request:ident { $($field:ident: $value:expr,)* ..$args:ident => $($same:ident),* $(,)? }
    ) => {
        fleet_proto::v1::$request {
            $($field: $value,)*
            $($same: $args.$same,)*
            ..Default::default()
        }
    };
}
pub(crate) use request;

/// The `update` command of a family whose every flag sets the resource field
/// of the same name: its clap arguments (zone, id, the flags, `--tag` and the
/// idempotency key, in that order) and the request they make, whose mask
/// names the fields given in the order of the flags.
macro_rules! plain_update {
    (
        $(#[$meta:meta])*
        $args:ident => $request:ident { $field:ident: $resource:ident, id: $id:ident }
        flags { $($(#[$flag_meta:meta])* $flag:ident: $flag_type:ty,)+ }
    ) => {
        $(#[$meta])*
        #[derive(clap::Args, Debug)]
        pub struct $args {
            #[command(flatten)]
            zone: $crate::args::Zone,
            $id: String,
            $($(#[$flag_meta])* $flag: Option<$flag_type>,)+
            /// Replace the tags with these (repeat)
            #[arg(long = "tag")]
            tags: Vec<String>,
            #[command(flatten)]
            mutation: $crate::args::Mutation,
        }

        impl $args {
            fn request(self) -> Result<fleet_proto::v1::$request, $crate::error::CliError> {
                let mut resource = fleet_proto::v1::$resource {
                    id: self.$id,
                    ..Default::default()
                };
                let mut changes = $crate::commands::Changes::default();
                $(changes.set(stringify!($flag), &mut resource.$flag, self.$flag);)+
                changes.tags(&mut resource.tags, self.tags);
                let flags = $crate::commands::flag_list(&[$(stringify!($flag)),+]);
                Ok(fleet_proto::v1::$request {
                    zone: self.zone.zone,
                    request_id: self.mutation.id(),
                    $field: Some(resource),
                    update_mask: Some(changes.mask(&flags)?),
                })
            }
        }
    };
}
pub(crate) use plain_update;

/// `--a, --b or --tag`: the flags of a plain update, as its usage error names them.
pub fn flag_list(fields: &[&str]) -> String {
    let flags: Vec<String> = fields
        .iter()
        .map(|field| format!("--{}", field.replace('_', "-")))
        .collect();
    format!("{} or --tag", flags.join(", "))
}

/// Prints the message a call answers with.
pub async fn show<M>(ctx: &Ctx, call: impl Future<Output = Answer<M>>) -> Result<(), CliError>
where
    M: prost::Message + prost::Name,
{
    let message = call.await?.into_inner();
    ctx.print(&message)
}

/// Prints the operation a call starts, or follows it with `--wait`.
pub async fn start(
    ctx: &Ctx,
    call: impl Future<Output = Answer<v1::Operation>>,
    long: &LongRunning,
) -> Result<(), CliError> {
    let op = call.await?.into_inner();
    ctx.operation(op, long).await
}

/// Makes a call whose answer is empty and says on stderr what it did.
pub async fn confirm<M>(call: impl Future<Output = Answer<M>>, what: &str) -> Result<(), CliError> {
    call.await?;
    output::note(what);
    Ok(())
}

/// The fields an update command changes: each flag given sets its field and
/// names it in the update mask, in the order the flags are checked.
#[derive(Debug, Default)]
pub struct Changes {
    paths: Vec<&'static str>,
}

impl Changes {
    /// Sets `field` to the flag's value, when the flag is given.
    pub fn set<T>(&mut self, path: &'static str, field: &mut T, value: Option<T>) {
        if let Some(value) = value {
            *field = value;
            self.paths.push(path);
        }
    }

    /// [`Changes::set`] for a nullable field.
    pub fn set_some<T>(&mut self, path: &'static str, field: &mut Option<T>, value: Option<T>) {
        self.set(path, field, value.map(Some));
    }

    /// Replaces the tags, when any is given.
    pub fn tags(&mut self, field: &mut Vec<String>, tags: Vec<String>) {
        if !tags.is_empty() {
            *field = tags;
            self.paths.push("tags");
        }
    }

    /// Names a field left unset: the gateway sends it as null, which clears it.
    pub fn clear(&mut self, path: &'static str) {
        self.paths.push(path);
    }

    /// The update mask; no field changed is a usage error naming the flags.
    pub fn mask(self, flags: &str) -> Result<prost_types::FieldMask, CliError> {
        if self.paths.is_empty() {
            return Err(CliError::usage(format!(
                "nothing to update: give at least one of {flags}"
            )));
        }
        Ok(prost_types::FieldMask {
            paths: self.paths.into_iter().map(str::to_owned).collect(),
        })
    }
}

/// Where a `--file` value is read from: `-` or `@-` is stdin, a leading `@` is optional.
pub fn file_source(path: &str) -> Source {
    match path {
        "-" | "@-" => Source::Stdin,
        path => Source::File(path.trim_start_matches('@').to_owned()),
    }
}

/// A resource from a JSON file (`@-` or `-` for stdin), Scaleway field names.
pub fn from_file<M: prost::Message + prost::Name + Default>(path: &str) -> Result<M, CliError> {
    fleet_proto::json::from_json(file_source(path).json()?).map_err(|err| {
        CliError::usage(format!(
            "{path} does not hold a valid {}: {err}",
            M::full_name()
        ))
    })
}

// The `replace` arguments of the families whose PUT takes only the zone and
// the resource (the subcommand's doc comment says which resource).
#[derive(Args, Debug)]
pub struct ReplaceFile {
    #[command(flatten)]
    zone: Zone,
    #[arg(long)]
    file: String,
    #[command(flatten)]
    mutation: Mutation,
}

impl ReplaceFile {
    /// The Replace request: the resource read from `--file`.
    pub fn request<R: ReplaceRequest>(self) -> Result<R, CliError> {
        let resource = from_file(&self.file)?;
        Ok(R::new(self.zone.zone, self.mutation.id(), resource))
    }
}

/// A Replace (PUT) request: zone, idempotency key and the whole resource.
pub trait ReplaceRequest {
    type Resource: prost::Message + prost::Name + Default;
    fn new(zone: String, request_id: String, resource: Self::Resource) -> Self;
}

macro_rules! replace_requests {
    ($($request:ident => $field:ident: $resource:ident),* $(,)?) => {$(
        impl ReplaceRequest for v1::$request {
            type Resource = v1::$resource;
            fn new(zone: String, request_id: String, resource: v1::$resource) -> Self {
                v1::$request {
                    zone,
                    request_id,
                    $field: Some(resource),
                }
            }
        }
    )*};
}

replace_requests!(
    ReplaceServerRequest => server: Server,
    ReplaceImageRequest => image: Image,
    ReplaceSnapshotRequest => snapshot: Snapshot,
    ReplaceSecurityGroupRequest => security_group: SecurityGroup,
    ReplacePlacementGroupRequest => placement_group: PlacementGroup,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_update_flags_are_named_as_on_the_command_line() {
        assert_eq!(flag_list(&["name"]), "--name or --tag");
        assert_eq!(
            flag_list(&["name", "policy_mode", "policy_type"]),
            "--name, --policy-mode, --policy-type or --tag"
        );
    }

    #[test]
    fn changes_name_the_fields_given_in_order() {
        let mut image = v1::Image::default();
        let mut changes = Changes::default();
        changes.set("name", &mut image.name, Some("web".to_owned()));
        changes.set("arch", &mut image.arch, None);
        changes.tags(&mut image.tags, vec!["a".to_owned()]);
        changes.clear("public");
        let mask = changes.mask("--name").unwrap();
        assert_eq!(mask.paths, ["name", "tags", "public"]);
        assert_eq!((image.name.as_str(), image.tags.len()), ("web", 1));
    }

    #[test]
    fn no_change_is_a_usage_error_naming_the_flags() {
        let err = Changes::default().mask("--name or --tag").unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::USAGE);
        assert!(err.to_string().contains("--name or --tag"), "{err}");
    }
}

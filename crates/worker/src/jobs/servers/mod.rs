//! Server handlers, one file per family: actions (and the action driver the others use),
//! create, delete, volume and file-system attachment, private NICs, tag and type updates.

mod actions;
mod attach;
mod create;
mod delete;
mod nics;
mod update;

pub(crate) use actions::server_action;
pub(crate) use attach::{attach_volume, detach_volume, file_system};
pub(crate) use create::create_server;
pub(crate) use delete::delete_server;
pub(crate) use nics::create_private_nic;
pub(crate) use update::{change_server_type, update_server_tags};

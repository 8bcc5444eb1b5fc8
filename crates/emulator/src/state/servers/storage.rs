//! The server type's storage rules, shared by create, update and attach.

use serde_json::Value;

use crate::errors::{ApiResult, ArgDetail, Error};
use crate::state::World;

/// An unsigned number in a server type, 0 when absent.
pub(super) fn type_u64(t: &Value, ptr: &str) -> u64 {
    t.pointer(ptr).and_then(Value::as_u64).unwrap_or(0)
}

/// Enforce the type's local-storage constraints on the planned volumes.
pub(super) fn check_local_constraints(
    w: &World,
    zone: &str,
    ctype: &str,
    vols: &[(String, u64)],
) -> ApiResult<()> {
    let Some(t) = w.catalog.server_type(zone, ctype) else {
        return Ok(());
    };
    let local: Vec<u64> = vols
        .iter()
        .filter(|(k, _)| k == "l_ssd")
        .map(|(_, s)| *s)
        .collect();
    let scratch: Vec<u64> = vols
        .iter()
        .filter(|(k, _)| k == "scratch")
        .map(|(_, s)| *s)
        .collect();
    let max_total = type_u64(t, "/volumes_constraint/max_size");
    let min_total = type_u64(t, "/volumes_constraint/min_size");
    if !local.is_empty() {
        let total: u64 = local.iter().sum();
        // Types without local storage still accept an l_ssd root of the
        // image's size (observed), so only types with a budget are checked.
        if max_total > 0 && (total > max_total || total < min_total) {
            return Err(Error::invalid(ArgDetail::constraint(
                "volumes",
                format!(
                    "the total size of local volumes must be between {} GB and {} GB, got {} GB",
                    min_total / 1_000_000_000,
                    max_total / 1_000_000_000,
                    total / 1_000_000_000
                ),
            )));
        }
        let pmin = type_u64(t, "/per_volume_constraint/l_ssd/min_size");
        let pmax = type_u64(t, "/per_volume_constraint/l_ssd/max_size");
        if let Some(bad) = local
            .iter()
            .find(|s| (pmax > 0 && **s > pmax) || **s < pmin)
        {
            return Err(Error::invalid(ArgDetail::constraint(
                "volumes",
                format!(
                    "local volume size {} GB is out of bounds [{} GB, {} GB]",
                    bad / 1_000_000_000,
                    pmin / 1_000_000_000,
                    pmax / 1_000_000_000
                ),
            )));
        }
    }
    if !scratch.is_empty() {
        let max = type_u64(t, "/scratch_storage_max_size");
        if max == 0 || scratch.iter().sum::<u64>() > max {
            return Err(Error::invalid(ArgDetail::constraint(
                "volumes",
                format!("scratch storage exceeds what {ctype} offers"),
            )));
        }
    }
    Ok(())
}

/// The boot types a server accepts.
pub(super) const BOOT_TYPES: [&str; 3] = ["local", "bootscript", "rescue"];

/// A `volumes` key of a server body: a decimal index.
pub(super) fn volume_index(k: &str) -> ApiResult<u32> {
    k.parse().map_err(|_| {
        Error::invalid(ArgDetail::format(
            "volumes",
            format!("volume key {k:?} is not an index"),
        ))
    })
}

//! User data: raw `text/plain` values by key.

use fleet_core::ListServerUserDataResponse;
use serde_json::Map;
use uuid::Uuid;

use super::{get, get_mut};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Body, Req, Resp};
use crate::state::{Ctx, World};

/// `GET servers/{id}/user_data`: the keys.
pub fn list(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    let s = get(w, ctx, id)?;
    Ok(Resp::ok(ListServerUserDataResponse {
        user_data: s.user_data.keys().cloned().collect(),
        extra: Map::new(),
    }))
}

/// `GET servers/{id}/user_data/{key}`.
pub fn get_value(w: &World, ctx: &Ctx, id: Uuid, key: &str) -> ApiResult<Resp> {
    let s = get(w, ctx, id)?;
    Ok(match s.user_data.get(key) {
        Some(v) => Resp {
            status: 200,
            body: Body::Text(v.clone()),
            headers: Vec::new(),
        },
        // Observed: 404 with text/plain and an empty body.
        None => Resp {
            status: 404,
            body: Body::Empty("text/plain"),
            headers: Vec::new(),
        },
    })
}

/// `PATCH servers/{id}/user_data/{key}`: the body is the value.
pub fn set(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid, key: &str) -> ApiResult<Resp> {
    let s = get_mut(w, ctx, id)?;
    if key.is_empty() || key.len() > 255 {
        return Err(Error::invalid(ArgDetail::constraint(
            "key",
            "key must be 1 to 255 characters",
        )));
    }
    s.user_data.insert(key.to_owned(), req.body.to_vec());
    Ok(Resp {
        status: 204,
        body: Body::Empty("text/plain"),
        headers: Vec::new(),
    })
}

/// `DELETE servers/{id}/user_data/{key}`.
pub fn delete(w: &mut World, ctx: &Ctx, id: Uuid, key: &str) -> ApiResult<Resp> {
    get_mut(w, ctx, id)?.user_data.remove(key);
    Ok(Resp::no_content())
}

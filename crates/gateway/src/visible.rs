//! Keyset pages of fleet's own rows a caller may see, newest first: those it made, and those
//! of the projects it was granted (every row for a caller granted every project). Batches and
//! policies are listed this way.

use sqlx::PgPool;

use crate::auth::{Caller, ProjectScope};
use crate::errors::GatewayError;
use crate::paging::{PageToken, filter_hash, page_size};

/// A table of rows with an id, a project and the caller that made each.
#[derive(Debug, Clone, Copy)]
pub struct Owned {
    pub table: &'static str,
    /// The column naming the caller that made the row.
    pub owner: &'static str,
}

pub const BATCHES: Owned = Owned {
    table: "batches",
    owner: "caller",
};

pub const POLICIES: Owned = Owned {
    table: "policies",
    owner: "creator",
};

/// One page of ids and the token of the next one (empty at the end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPage {
    pub ids: Vec<i64>,
    pub next_page_token: String,
}

/// The page of `owned` rows `caller` may see that `page_size` and `page_token` ask for;
/// `method` binds the token to the listing.
pub async fn visible_ids(
    pool: &PgPool,
    owned: Owned,
    caller: &Caller,
    method: &str,
    asked_size: i32,
    page_token: &str,
) -> Result<IdPage, GatewayError> {
    let size = page_size(asked_size)?;
    let hash = filter_hash(method, &serde_json::json!([caller.name]));
    let token = PageToken::decode(page_token, &hash)?;
    let (all, projects) = match &caller.projects {
        ProjectScope::All => (true, Vec::new()),
        ProjectScope::Only(projects) => (false, projects.clone()),
    };
    let sql = format!(
        "SELECT id FROM {} WHERE ($1 OR {} = $2 OR project = ANY($3)) \
         AND ($4::int8 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5",
        owned.table, owned.owner
    );
    let mut ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(all)
        .bind(&caller.name)
        .bind(&projects)
        .bind(token.after)
        .bind(i64::from(size) + 1)
        .fetch_all(pool)
        .await?;
    let more = ids.len() > size as usize;
    ids.truncate(size as usize);
    let next_page_token = match (more, ids.last()) {
        (true, Some(&last)) => PageToken {
            offset: 0,
            zone_index: None,
            after: Some(last),
            filter_hash: hash,
        }
        .encode(),
        _ => String::new(),
    };
    Ok(IdPage {
        ids,
        next_page_token,
    })
}

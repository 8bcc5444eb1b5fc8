//! Databases for tests and benchmarks.
//!
//! With `DATABASE_URL` set, tests use that server; otherwise the first call starts one private
//! cluster for the whole test process (stopped by its watchdog when the process exits). Either way
//! each test gets its own fresh, empty database, so tests never see each other's rows.

use std::sync::OnceLock;

use sqlx::Connection as _;

use crate::{Cluster, ClusterConfig, ClusterError};

static SHARED: OnceLock<Result<SharedServer, String>> = OnceLock::new();

struct SharedServer {
    /// URL of a database we may connect to for `CREATE DATABASE`.
    admin_url: String,
    // Kept alive for the life of the process; the watchdog stops it at exit.
    _cluster: Option<Cluster>,
}

fn shared() -> &'static SharedServer {
    let server = SHARED.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Ok(SharedServer {
            admin_url: url,
            _cluster: None,
        }),
        _ => Cluster::start(ClusterConfig::temporary())
            .map(|cluster| SharedServer {
                admin_url: cluster.url("postgres"),
                _cluster: Some(cluster),
            })
            .map_err(|e: ClusterError| e.to_string()),
    });
    match server {
        Ok(server) => server,
        Err(err) => panic!("cannot start a private postgres cluster for tests: {err}"),
    }
}

/// Replaces the database name in a `postgres://` URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[authority_start..]
        .find('/')
        .map(|i| authority_start + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// The URL of the shared test server's admin database (for tests that manage databases).
pub fn server_url() -> String {
    shared().admin_url.clone()
}

/// Creates a fresh, empty database with a unique name and returns its URL.
///
/// # Panics
/// When no server can be reached or started: a test without its database cannot run.
pub async fn fresh_database() -> String {
    let admin = &shared().admin_url;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to test postgres: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let _ = conn.close().await;
    with_database(admin, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u:p@h:5/db?sslmode=disable", "x"),
            "postgres://u:p@h:5/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:5", "x"), "postgres://h:5/x");
        assert_eq!(with_database("postgres://h/a", "b"), "postgres://h/b");
    }

    #[tokio::test]
    async fn fresh_databases_are_distinct_and_usable() {
        let a = fresh_database().await;
        let b = fresh_database().await;
        assert_ne!(a, b);
        let mut conn = sqlx::PgConnection::connect(&a).await.unwrap();
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(one, 1);
    }
}

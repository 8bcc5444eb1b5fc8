//! The audit checks of the every-method run: every audited method of the gateway's own table
//! (so a new mutating method cannot be forgotten) appears in the audit log with its caller,
//! method and outcome; a refusal for authorization is audited; the Audit service's filters and
//! visibility hold; and a scan of every column of every row finds no token, no Scaleway key
//! and no user-data content.

use std::collections::BTreeSet;

use base64::Engine as _;
use fleet_proto::v1;
use tonic::Code;

use super::{Env, LIMITED_TOKEN, OPS_TOKEN, VIEWER_TOKEN, ZONE};

/// The user data the every-method run sets: its content must never reach the audit log.
pub const USER_DATA: &[u8] = b"#cloud-config\nwrite_files: [{content: audit-canary-5d1f0c}]\n";
const USER_DATA_CANARY: &str = "audit-canary-5d1f0c";

/// What the run did that the log must show exactly.
pub struct Expected {
    pub server: String,
    pub create_operation: String,
    pub create_request_id: String,
    /// The IP made by the synchronous CreateIp.
    pub ip: String,
}

type AuditClient = v1::audit_client::AuditClient<
    tonic::service::interceptor::InterceptedService<super::Recording, super::Bearer>,
>;

async fn client(env: &Env, token: &str) -> AuditClient {
    let (channel, bearer) = env.svc(Some(token)).await;
    v1::audit_client::AuditClient::with_interceptor(channel, bearer)
}

/// Every page of a listing.
async fn events(
    audit: &mut AuditClient,
    request: v1::ListAuditEventsRequest,
) -> Result<Vec<v1::AuditEvent>, tonic::Status> {
    let mut out = Vec::new();
    let mut request = v1::ListAuditEventsRequest {
        page_size: 100,
        ..request
    };
    loop {
        let page = audit.list_audit_events(request.clone()).await?.into_inner();
        out.extend(page.events);
        if page.next_page_token.is_empty() {
            return Ok(out);
        }
        request.page_token = page.next_page_token;
    }
}

fn one<'a>(
    events: &'a [v1::AuditEvent],
    what: &str,
    matches: impl Fn(&v1::AuditEvent) -> bool,
) -> &'a v1::AuditEvent {
    let found: Vec<&v1::AuditEvent> = events.iter().filter(|e| matches(e)).collect();
    assert_eq!(found.len(), 1, "{what}: {found:#?}");
    found[0]
}

/// Runs every check; call it after every method was called.
pub async fn check_after_every_method(env: &Env, expected: &Expected) {
    let server = format!("zones/{ZONE}/servers/{}", expected.server);

    // Refused for authorization: a read-only caller's mutation.
    let mut viewer_servers = {
        let (channel, bearer) = env.svc(Some(VIEWER_TOKEN)).await;
        v1::servers_client::ServersClient::with_interceptor(channel, bearer)
    };
    let denied = viewer_servers
        .update_server(v1::UpdateServerRequest {
            zone: ZONE.into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            server: Some(v1::Server {
                id: expected.server.clone(),
                name: "not-allowed".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    let mut audit = client(env, OPS_TOKEN).await;
    let all = events(&mut audit, Default::default()).await.unwrap();

    // Every audited method, from the gateway's method table, was audited as called by ops;
    // nothing else was (reads are not audited).
    let audited = fleet_gateway::audit::audited_methods();
    let by_ops: BTreeSet<String> = all
        .iter()
        .filter(|e| e.caller == "ops")
        .map(|e| e.method.clone())
        .collect();
    let missing: Vec<_> = audited.difference(&by_ops).collect();
    println!(
        "audit coverage: {}/{} mutating methods, {} records",
        audited.len() - missing.len(),
        audited.len(),
        all.len()
    );
    assert!(missing.is_empty(), "never audited: {missing:?}");
    let unexpected: Vec<_> = all
        .iter()
        .filter(|e| !audited.contains(&e.method))
        .collect();
    assert!(unexpected.is_empty(), "not mutations: {unexpected:#?}");
    for event in &all {
        let role = if event.caller == "viewer" {
            "read_only"
        } else {
            "operator"
        };
        assert_eq!(event.role, role, "{event:?}");
        assert!(event.time.is_some() && event.name.starts_with("auditEvents/"));
        // A refusal always carries an ErrorInfo reason (the run's `accept` checks that the
        // caller got one); OK never does.
        assert_eq!(event.outcome == "OK", event.reason.is_empty(), "{event:?}");
    }

    // The long-running create: its operation is both the resource and the operation.
    let create = one(&all, "CreateServer", |e| {
        e.request_id == expected.create_request_id
    });
    assert_eq!(
        (
            create.method.as_str(),
            create.outcome.as_str(),
            create.zone.as_str()
        ),
        ("fleet.v1.Servers/CreateServer", "OK", ZONE)
    );
    assert_eq!(create.resource, expected.create_operation);
    assert_eq!(create.operation, expected.create_operation);
    assert_eq!(create.project, env.project());
    // The synchronous create names what it created.
    let ip = one(&all, "CreateIp", |e| {
        e.method == "fleet.v1.Ips/CreateIp" && e.caller == "ops"
    });
    assert_eq!(ip.resource, format!("zones/{ZONE}/ips/{}", expected.ip));
    // User data only by size.
    let set = one(&all, "SetServerUserData", |e| {
        e.method == "fleet.v1.UserData/SetServerUserData"
    });
    assert_eq!(set.user_data_bytes, Some(USER_DATA.len() as i64));
    assert_eq!(set.resource, format!("{server}/user_data/cloud-init"));
    let cancel = one(&all, "CancelOperation", |e| {
        e.method == "fleet.v1.Operations/CancelOperation"
    });
    assert!(cancel.operation.starts_with("operations/") && !cancel.resource.is_empty());

    // The refusal, through the caller filter.
    let viewer = events(
        &mut audit,
        v1::ListAuditEventsRequest {
            caller: "viewer".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(viewer.len(), 1, "{viewer:#?}");
    assert_eq!(
        (
            viewer[0].method.as_str(),
            viewer[0].outcome.as_str(),
            viewer[0].reason.as_str(),
            viewer[0].resource.as_str()
        ),
        (
            "fleet.v1.Servers/UpdateServer",
            "PERMISSION_DENIED",
            "READ_ONLY_CALLER",
            server.as_str()
        )
    );

    check_filters(env, &mut audit, &all, &server).await;
    scan_for_secrets(env).await;
}

/// Resource (with what is under it), method and time filters; a caller not granted every
/// project reads only its own records.
async fn check_filters(env: &Env, audit: &mut AuditClient, all: &[v1::AuditEvent], server: &str) {
    let on_server = events(
        audit,
        v1::ListAuditEventsRequest {
            resource: server.to_owned(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let expected: Vec<&v1::AuditEvent> = all
        .iter()
        .filter(|e| e.resource == server || e.resource.starts_with(&format!("{server}/")))
        .collect();
    assert_eq!(on_server.iter().collect::<Vec<_>>(), expected);
    assert!(
        on_server
            .iter()
            .any(|e| e.method == "fleet.v1.UserData/SetServerUserData")
    );
    let deletes = events(
        audit,
        v1::ListAuditEventsRequest {
            method: "fleet.v1.Servers/DeleteServer".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        !deletes.is_empty()
            && deletes
                .iter()
                .all(|e| e.method == "fleet.v1.Servers/DeleteServer")
    );
    let newest = all[0].time.unwrap();
    let later = events(
        audit,
        v1::ListAuditEventsRequest {
            start_time: Some(prost_types::Timestamp {
                seconds: newest.seconds + 1,
                nanos: 0,
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(later.is_empty(), "{later:#?}");
    let refused = events(
        audit,
        v1::ListAuditEventsRequest {
            method: "fleet.v1.Servers/GetServer".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);

    let mut limited = client(env, LIMITED_TOKEN).await;
    let own = events(&mut limited, Default::default()).await.unwrap();
    assert!(own.iter().all(|e| e.caller == "limited"), "{own:#?}");
    let others = events(
        &mut limited,
        v1::ListAuditEventsRequest {
            caller: "ops".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(others.code(), Code::PermissionDenied);
}

/// Every column of every row, as text, holds no token (nor its digest), no Scaleway key and
/// no user-data content (nor its base64).
async fn scan_for_secrets(env: &Env) {
    let rows: Vec<String> = sqlx::query_scalar("SELECT row_to_json(a)::text FROM gateway_audit a")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    assert!(rows.len() > 50, "{} rows", rows.len());
    let user_data_b64 = base64::engine::general_purpose::STANDARD.encode(USER_DATA);
    let mut secrets = vec![
        env.secret.clone(),
        USER_DATA_CANARY.to_owned(),
        user_data_b64,
    ];
    for token in [OPS_TOKEN, VIEWER_TOKEN, LIMITED_TOKEN] {
        secrets.push(token.to_owned());
        secrets.push(fleet_gateway::token_sha256_hex(token));
    }
    for row in &rows {
        for secret in &secrets {
            assert!(!row.contains(secret.as_str()), "{secret:?} in {row}");
        }
    }
    println!(
        "audit secret scan: {} rows, {} secrets, none found",
        rows.len(),
        secrets.len()
    );
}

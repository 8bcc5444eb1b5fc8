//! The error table, case by case.

use fleet_core::{
    AuthenticationMethod, AuthenticationReason, InvalidArgumentDetail, PermissionDeniedDetail,
    QuotaExceededDetail, Timestamp,
};

use super::*;

#[test]
fn huge_values_are_clipped_in_invalid_argument_answers() {
    let huge = "é".repeat(1024 * 1024);
    let status = GatewayError::invalid("name", format!("must be short; got {huge:?}")).to_status();
    assert!(status.message().len() <= MAX_MESSAGE_CHARS + 4);
    let details = status.get_error_details();
    let violations = &details.bad_request().unwrap().field_violations;
    assert_eq!(violations[0].field, "name");
    assert!(violations[0].description.len() <= MAX_DESCRIPTION_CHARS + 4);
    assert!(violations[0].description.ends_with('…'));
}

fn ctx() -> UpstreamContext {
    UpstreamContext {
        zone: "fr-par-1".into(),
        operation: "get_server".into(),
        resource: None,
        compensation: Default::default(),
    }
}

fn map(status: u16, error: ApiError) -> Status {
    upstream_status(status, &error, None, &ctx())
}

#[test]
fn every_scaleway_error_type_is_mapped_as_documented() {
    let cases: Vec<(ApiError, u16, Code, &str)> = vec![
        (
            ApiError::invalid_arguments([InvalidArgumentDetail::required("commercial_type")]),
            400,
            Code::InvalidArgument,
            "UPSTREAM_INVALID_ARGUMENT",
        ),
        (
            ApiError::invalid_request("Validation Error"),
            400,
            Code::InvalidArgument,
            "UPSTREAM_INVALID_ARGUMENT",
        ),
        (
            ApiError::not_found("instance_server", "abc"),
            404,
            Code::NotFound,
            "RESOURCE_NOT_FOUND",
        ),
        (
            ApiError::unknown_resource("Volume 'abc' not found"),
            404,
            Code::NotFound,
            "RESOURCE_NOT_FOUND",
        ),
        (
            ApiError::resource_expired(
                "instance_image",
                "abc",
                Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
            ),
            410,
            Code::NotFound,
            "RESOURCE_EXPIRED",
        ),
        (
            ApiError::quotas_exceeded([QuotaExceededDetail::new("instances_dev1_s", 10, 10)]),
            403,
            Code::ResourceExhausted,
            "QUOTA_EXCEEDED",
        ),
        (
            ApiError::precondition_failed("server should be stopped"),
            412,
            Code::FailedPrecondition,
            "FAILED_PRECONDITION",
        ),
        (
            ApiError::transient_state("instance_server", "abc", "starting"),
            409,
            Code::Aborted,
            "RESOURCE_BUSY",
        ),
        (
            ApiError::permissions_denied([PermissionDeniedDetail::new("instance_server", "write")]),
            403,
            Code::PermissionDenied,
            "UPSTREAM_PERMISSION_DENIED",
        ),
        (
            ApiError::denied_authentication(
                AuthenticationMethod::ApiKey,
                AuthenticationReason::NotFound,
            ),
            401,
            Code::Internal,
            "UPSTREAM_AUTHENTICATION_DENIED",
        ),
        (
            ApiError::out_of_stock("GPU-3070-S"),
            503,
            Code::ResourceExhausted,
            "OUT_OF_STOCK",
        ),
        (
            ApiError::locked("instance_server", "abc"),
            409,
            Code::FailedPrecondition,
            "RESOURCE_LOCKED",
        ),
        (
            ApiError::conflict("Group is in use. You cannot delete it."),
            409,
            Code::Aborted,
            "CONFLICT",
        ),
        (
            ApiError::conflict("resource already exists"),
            409,
            Code::AlreadyExists,
            "ALREADY_EXISTS",
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (error, status, code, reason) in cases {
        seen.insert(error.kind().type_str().unwrap_or("other"));
        let s = map(status, error.clone());
        assert_eq!(s.code(), code, "{error:?}: {}", s.message());
        let details = s.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, reason, "{error:?}");
        assert_eq!(info.domain, DOMAIN);
        assert_eq!(
            info.metadata.get("zone").map(String::as_str),
            Some("fr-par-1")
        );
        assert_eq!(
            info.metadata.get("upstreamType").map(String::as_str),
            Some(error.error_type())
        );
        assert!(!s.message().is_empty());
        assert!(
            !s.message().ends_with('.'),
            "no final period: {}",
            s.message()
        );
    }
    for kind in fleet_core::ErrorKind::KNOWN {
        assert!(
            seen.contains(kind.type_str().unwrap()),
            "{kind:?} not covered"
        );
    }
}

#[test]
fn details_say_what_to_fix() {
    let s = map(
        412,
        ApiError::precondition_failed("server should be stopped"),
    );
    assert_eq!(s.message(), "server must be stopped");
    assert!(s.get_error_details().precondition_failure().is_some());

    let s = map(
        409,
        ApiError::transient_state("instance_server", "abc", "starting"),
    );
    let d = s.get_error_details();
    let pf = d.precondition_failure().unwrap();
    assert!(
        pf.violations[0].description.contains("it is starting"),
        "{pf:?}"
    );
    assert!(d.retry_info().is_some());

    let s = map(404, ApiError::not_found("instance_server", "abc"));
    assert!(
        s.message().contains("fr-par-1") && s.message().contains("abc"),
        "{}",
        s.message()
    );
    let d = s.get_error_details();
    assert_eq!(
        d.resource_info().unwrap().resource_name,
        "zones/fr-par-1/servers/abc"
    );

    let s = map(
        403,
        ApiError::quotas_exceeded([QuotaExceededDetail::new("instances_dev1_s", 10, 12)]),
    );
    let q = s.get_error_details().quota_failure().unwrap().clone();
    assert_eq!(q.violations[0].subject, "instances_dev1_s");
    assert_eq!(q.violations[0].description, "limit 10, usage 12");
    assert!(s.message().contains("limit 10, usage 12"));

    let s = map(
        400,
        ApiError::invalid_arguments([InvalidArgumentDetail::required("image")]),
    );
    let br = s.get_error_details().bad_request().unwrap().clone();
    assert_eq!(br.field_violations[0].field, "image");
}

#[test]
fn statuses_without_a_known_type() {
    let other = |status| {
        let body = serde_json::json!({"type": "too_many_requests", "message": "slow down"});
        let serde_json::Value::Object(body) = body else {
            unreachable!()
        };
        upstream_status(
            status,
            &ApiError::from_body(body),
            Some(Duration::from_secs(3)),
            &ctx(),
        )
    };
    let s = other(429);
    assert_eq!(s.code(), Code::Unavailable);
    assert_eq!(
        s.get_error_details().retry_info().unwrap().retry_delay,
        Some(Duration::from_secs(3))
    );
    assert_eq!(other(502).code(), Code::Unavailable);
    assert_eq!(other(500).code(), Code::Unavailable);
    assert_eq!(other(404).code(), Code::NotFound);
    assert_eq!(other(400).code(), Code::InvalidArgument);
    assert_eq!(other(401).code(), Code::Internal);
    assert_eq!(other(418).code(), Code::Unknown);
}

#[test]
fn internal_errors() {
    let cases = [
        (
            GatewayError::NoZoneOwner {
                zone: "fr-par-1".into(),
            },
            Code::Unavailable,
            true,
        ),
        (
            GatewayError::WorkerUnavailable {
                zone: "fr-par-1".into(),
                message: "refused".into(),
            },
            Code::Unavailable,
            true,
        ),
        (
            GatewayError::Database("connection refused to 10.0.0.1".into()),
            Code::Unavailable,
            true,
        ),
        (
            GatewayError::RequestInProgress {
                request_id: "x".into(),
            },
            Code::Aborted,
            true,
        ),
        (GatewayError::ShuttingDown, Code::Unavailable, true),
        (
            GatewayError::Unauthenticated("missing bearer token".into()),
            Code::Unauthenticated,
            false,
        ),
        (
            GatewayError::denied("READ_ONLY_CALLER", "read only"),
            Code::PermissionDenied,
            false,
        ),
        (GatewayError::Internal("bug".into()), Code::Internal, false),
        (
            GatewayError::Cancelled(Box::default()),
            Code::Cancelled,
            false,
        ),
    ];
    for (err, code, retry) in cases {
        let s = err.to_status();
        assert_eq!(s.code(), code, "{err:?}");
        let d = s.get_error_details();
        assert!(d.error_info().is_some(), "{err:?}");
        assert_eq!(d.retry_info().is_some(), retry, "{err:?}");
        assert!(
            !s.message().contains("10.0.0.1"),
            "no internals leak: {}",
            s.message()
        );
    }
    let s = GatewayError::RequestIdReused {
        request_id: "r".into(),
        method: "m".into(),
    }
    .to_status();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert_eq!(
        s.get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "request_id"
    );
}

#[test]
fn rpc_status_keeps_details() {
    let status = GatewayError::NoZoneOwner {
        zone: "fr-par-2".into(),
    }
    .to_rpc_status();
    assert_eq!(status.code, Code::Unavailable as i32);
    assert!(!status.details.is_empty());
}

/// The compensation a failed or cancelled job recorded reaches the status's `ErrorInfo`,
/// whichever way the job ended (its own failure kind, an upstream error, a cancel).
#[test]
fn compensation_is_in_the_error_info() {
    let compensation = Compensation {
        notes: vec!["deleted server s1".into(), "deleted volume v1".into()],
        left: vec!["zones/fr-par-1/volumes/v2".into()],
    };
    let failed = GatewayError::JobFailed(Box::new(JobFailure {
        kind: fleet_jobs::failure_kind::UNAVAILABLE.into(),
        message: "retries exhausted".into(),
        compensation: compensation.clone(),
        ..JobFailure::default()
    }));
    let upstream = GatewayError::Upstream {
        status: 400,
        error: Box::new(ApiError::from_body(
            serde_json::json!({"type": "invalid_arguments", "message": "bad key", "details": []})
                .as_object()
                .cloned()
                .unwrap(),
        )),
        retry_after: None,
        context: Box::new(UpstreamContext {
            compensation: compensation.clone(),
            ..ctx()
        }),
    };
    let cancelled = GatewayError::Cancelled(Box::new(compensation));
    for err in [failed, upstream, cancelled] {
        let status = err.to_status();
        let details = status.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(
            info.metadata.get("compensation").map(String::as_str),
            Some("deleted server s1; deleted volume v1"),
            "{err:?}"
        );
        assert_eq!(
            info.metadata.get("left").map(String::as_str),
            Some("zones/fr-par-1/volumes/v2"),
            "{err:?}"
        );
    }
    // Nothing undone: no entries.
    let status = GatewayError::Cancelled(Box::default()).to_status();
    let details = status.get_error_details();
    let info = details.error_info().expect("error info");
    assert!(!info.metadata.contains_key("compensation"));
    assert!(!info.metadata.contains_key("left"));
}

use super::*;
use serde_json::json;

fn parse(body: Value) -> ApiError {
    let err: ApiError = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(serde_json::to_value(&err).unwrap(), body, "round trip");
    err
}

#[test]
fn invalid_arguments() {
    let err = parse(
        json!({"type": "invalid_arguments", "message": "invalid argument(s)", "details": [
        {"argument_name": "commercial_type", "reason": "required", "help_message": "required key not provided"},
        {"argument_name": "image", "reason": "required", "help_message": "required key not provided"}]}),
    );
    let ApiError::InvalidArguments(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.details[0].argument_name, "commercial_type");
    assert_eq!(e.details[1].reason, InvalidArgumentReason::Required);
    assert_eq!(err.status(), 400);
    assert_eq!(
        err.to_string(),
        "invalid arguments: commercial_type (required: required key not provided), image (required: required key not provided)"
    );
    let built = ApiError::invalid_arguments([
        InvalidArgumentDetail::required("commercial_type"),
        InvalidArgumentDetail::required("image"),
    ]);
    assert_eq!(built, err);
}

#[test]
fn not_found() {
    let err = parse(
        json!({"type": "not_found", "message": "resource is not found", "resource": "instance_ip", "resource_id": "51.15.242.82/32"}),
    );
    let ApiError::NotFound(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.resource, "instance_ip");
    assert_eq!(e.resource_id, "51.15.242.82/32");
    assert_eq!(err.status(), 404);
    assert_eq!(err.to_string(), "instance_ip \"51.15.242.82/32\" not found");
    assert_eq!(ApiError::not_found("instance_ip", "51.15.242.82/32"), err);
}

#[test]
fn quotas_exceeded() {
    let err = parse(
        json!({"type": "quotas_exceeded", "message": "quota(s) exceeded for this resource",
        "details": [{"resource": "instances_dev1_s", "quota": 10, "current": 10, "project_id": "p"}]}),
    );
    let ApiError::QuotasExceeded(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((e.details[0].quota, e.details[0].current), (10, 10));
    assert_eq!(e.details[0].extra["project_id"], "p");
    assert_eq!(err.status(), 403);
    assert_eq!(
        err.to_string(),
        "quotas exceeded: instances_dev1_s (current 10, quota 10)"
    );
    assert_eq!(
        ApiError::quotas_exceeded([QuotaExceededDetail::new("x", 1, 1)]).kind(),
        ErrorKind::QuotasExceeded
    );
}

#[test]
fn precondition_failed() {
    let err = parse(json!({"message": "server should be stopped", "type": "precondition_failed"}));
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(err.status(), 412);
    assert_eq!(
        err.to_string(),
        "precondition failed: server should be stopped"
    );
    assert_eq!(
        ApiError::precondition_failed("server should be stopped"),
        err
    );
    let full = parse(
        json!({"type": "precondition_failed", "message": "precondition is not respected",
        "precondition": "resource_still_in_use", "help_message": "detach the volume first"}),
    );
    let ApiError::PreconditionFailed(e) = &full else {
        panic!("{full:?}")
    };
    assert_eq!(
        e.precondition,
        Some(PreconditionFailedKind::ResourceStillInUse)
    );
    assert_eq!(
        ApiError::precondition_failed_with(
            PreconditionFailedKind::ResourceStillInUse,
            "detach the volume first"
        ),
        full
    );
}

#[test]
fn transient_state() {
    let err = parse(
        json!({"type": "transient_state", "message": "resource is in a transient state",
        "resource": "instance_server", "resource_id": "abc", "current_state": "starting"}),
    );
    let ApiError::TransientState(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.current_state, "starting");
    assert_eq!(err.status(), 409);
    assert_eq!(
        err.to_string(),
        "instance_server \"abc\" is in transient state \"starting\""
    );
    assert_eq!(
        ApiError::transient_state("instance_server", "abc", "starting"),
        err
    );
}

#[test]
fn permissions_denied() {
    let err = parse(
        json!({"type": "permissions_denied", "message": "insufficient permissions",
        "details": [{"resource": "instance_server", "action": "write"}]}),
    );
    let ApiError::PermissionsDenied(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.details[0].action, "write");
    assert_eq!(err.status(), 403);
    assert_eq!(
        err.to_string(),
        "permissions denied: write on instance_server"
    );
    assert_eq!(
        ApiError::permissions_denied([PermissionDeniedDetail::new("instance_server", "write")]),
        err
    );
}

#[test]
fn denied_authentication() {
    let err = parse(
        json!({"type": "denied_authentication", "message": "authentication is denied",
        "method": "api_key", "reason": "not_found"}),
    );
    let ApiError::DeniedAuthentication(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.method, AuthenticationMethod::ApiKey);
    assert_eq!(e.reason, AuthenticationReason::NotFound);
    assert_eq!(err.status(), 401);
    assert_eq!(
        err.to_string(),
        "authentication denied (method api_key, reason not_found)"
    );
    assert_eq!(
        ApiError::denied_authentication(
            AuthenticationMethod::ApiKey,
            AuthenticationReason::NotFound
        ),
        err
    );
}

#[test]
fn resource_expired() {
    let since = "2025-11-04T10:16:43.388760+00:00";
    let err = parse(
        json!({"type": "resource_expired", "message": "resource has expired",
        "resource": "instance_image", "resource_id": "abc", "expired_since": since}),
    );
    let ApiError::ResourceExpired(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.expired_since.as_ref().map(Timestamp::as_str), Some(since));
    assert_eq!(err.status(), 410);
    assert_eq!(
        err.to_string(),
        format!("instance_image \"abc\" expired since {since}")
    );
    assert_eq!(
        ApiError::resource_expired("instance_image", "abc", Timestamp::parse(since).unwrap()),
        err
    );
}

#[test]
fn out_of_stock() {
    let err = parse(
        json!({"type": "out_of_stock", "message": "resource is out of stock", "resource": "GPU-3070-S"}),
    );
    assert_eq!(err.kind(), ErrorKind::OutOfStock);
    assert_eq!(err.status(), 503);
    assert_eq!(err.to_string(), "GPU-3070-S is out of stock");
    assert_eq!(ApiError::out_of_stock("GPU-3070-S"), err);
}

#[test]
fn locked() {
    let err = parse(
        json!({"type": "locked", "message": "resource is locked", "resource": "instance_server", "resource_id": "abc"}),
    );
    assert_eq!(err.kind(), ErrorKind::Locked);
    assert_eq!(err.status(), 409);
    assert_eq!(err.to_string(), "instance_server \"abc\" is locked");
    assert_eq!(ApiError::locked("instance_server", "abc"), err);
}

#[test]
fn legacy_kinds() {
    let conflict =
        parse(json!({"type": "conflict", "message": "Group is in use. You cannot delete it."}));
    assert_eq!(
        (conflict.kind(), conflict.status()),
        (ErrorKind::Conflict, 409)
    );
    assert_eq!(
        conflict.to_string(),
        "conflict: Group is in use. You cannot delete it."
    );
    assert_eq!(
        ApiError::conflict("Group is in use. You cannot delete it."),
        conflict
    );

    let unknown = parse(json!({"type": "unknown_resource", "message": "Volume 'abc' not found"}));
    assert_eq!(
        (unknown.kind(), unknown.status()),
        (ErrorKind::UnknownResource, 404)
    );
    assert_eq!(
        unknown.to_string(),
        "unknown resource: Volume 'abc' not found"
    );
    assert_eq!(
        ApiError::unknown_resource("Volume 'abc' not found"),
        unknown
    );

    let invalid = parse(
        json!({"type": "invalid_request_error", "message": "Validation Error",
        "fields": {"volumes.5.id": ["not a valid uuid"]}}),
    );
    let ApiError::InvalidRequest(e) = &invalid else {
        panic!("{invalid:?}")
    };
    assert_eq!(
        e.fields.as_ref().unwrap()["volumes.5.id"],
        ["not a valid uuid"]
    );
    assert_eq!(invalid.status(), 400);
    assert_eq!(
        invalid.to_string(),
        "invalid request: Validation Error (volumes.5.id: not a valid uuid)"
    );
    assert_eq!(
        ApiError::invalid_request("Validation Error").kind(),
        ErrorKind::InvalidRequestError
    );
}

#[test]
fn unknown_types_are_kept_whole() {
    let body = json!({"message": "slow down", "type": "too_many_requests", "limit": {"quota": 100, "window_seconds": 1}});
    let err = parse(body);
    let ApiError::Other(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.error_type(), Some("too_many_requests"));
    assert_eq!(err.error_type(), "too_many_requests");
    assert_eq!(
        err.to_string(),
        "api error \"too_many_requests\": slow down"
    );
    // A known type with fields of the wrong shape is kept whole too.
    let odd = parse(json!({"type": "not_found", "message": "x", "resource": 7}));
    assert_eq!(odd.kind(), ErrorKind::Other);
}

#[test]
fn detail_constructors_set_their_reason() {
    let f = InvalidArgumentDetail::format("volume_id", "not a valid UUID");
    assert_eq!(
        (f.argument_name.as_str(), &f.reason, f.help_message.as_str()),
        (
            "volume_id",
            &InvalidArgumentReason::Format,
            "not a valid UUID"
        )
    );
    let u = InvalidArgumentDetail::unknown("colour");
    assert_eq!(u.reason, InvalidArgumentReason::Unknown);
    assert_eq!(
        serde_json::to_value(&u).unwrap(),
        json!({"argument_name": "colour", "reason": "unknown", "help_message": "extra keys not allowed"})
    );
}

#[test]
fn status_table() {
    let cases = [
        (ApiError::invalid_arguments([]), 400),
        (ApiError::invalid_request("x"), 400),
        (
            ApiError::denied_authentication(
                AuthenticationMethod::ApiKey,
                AuthenticationReason::NotFound,
            ),
            401,
        ),
        (ApiError::quotas_exceeded([]), 403),
        (ApiError::permissions_denied([]), 403),
        (ApiError::not_found("r", "i"), 404),
        (ApiError::unknown_resource("x"), 404),
        (ApiError::transient_state("r", "i", "s"), 409),
        (ApiError::conflict("x"), 409),
        (ApiError::locked("r", "i"), 409),
        (
            ApiError::resource_expired("r", "i", Timestamp::parse("2025-01-01T00:00:00Z").unwrap()),
            410,
        ),
        (ApiError::precondition_failed("x"), 412),
        (ApiError::out_of_stock("r"), 503),
        (ApiError::Other(UnknownError::default()), 500),
    ];
    for (err, status) in cases {
        assert_eq!(err.status(), status, "{err:?}");
        assert_eq!(err.kind().status(), status);
    }
}

#[test]
fn every_kind_has_its_type_and_status() {
    for kind in ErrorKind::KNOWN {
        let type_str = kind.type_str().unwrap();
        assert_eq!(ErrorKind::from_type(type_str), kind);
        let err: ApiError =
            serde_json::from_value(json!({"type": type_str, "message": "m"})).unwrap();
        assert_eq!(err.kind(), kind, "{type_str}");
        assert_eq!(err.error_type(), type_str);
        assert!((400..600).contains(&err.status()));
    }
    assert_eq!(ErrorKind::from_type("nope"), ErrorKind::Other);
}

//! Waiters: a server poweron, a snapshot, and a terminate ending in 404;
//! early failure on an unexpected terminal state; deadline; cancellation.
//! Block: a volume until its references settle, failures (`error`,
//! `locked`, a reference in `error`) ending the wait at once, deletion, and
//! a snapshot through `creating` and `exporting`.

mod common;

use std::time::Duration;

use common::mock::{Mock, Reply, snapshot, volume};
use fleet_core::block::{SnapshotStatus, VolumeStatus};
use fleet_core::{
    CreateServerRequest, CreateSnapshotRequest, CreateVolumeRequest, ServerAction, ServerState,
    SnapshotState, VolumeVolumeType, Zone,
};
use fleet_scaleway::{Client, Error, TaskOutcome, WaitError, WaitOptions, WaitTarget};
use tokio_util::sync::CancellationToken;

const ZONE: Zone = Zone::FrPar1;

fn options() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(30),
        initial_interval: Duration::from_millis(10),
        multiplier: 1.5,
        max_interval: Duration::from_millis(200),
        ..WaitOptions::default()
    }
}

async fn new_server(client: &Client, name: &str) -> fleet_core::Server {
    let request = CreateServerRequest {
        name: Some(name.to_owned()),
        commercial_type: Some("DEV1-S".to_owned()),
        image: Some("ubuntu_jammy".to_owned()),
        ..CreateServerRequest::default()
    };
    client.create_server(ZONE, &request).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poweron_snapshot_and_terminate() {
    let emu = common::emulator().await;
    let client = common::client(&emu);
    let server = new_server(&client, "waiter").await;
    assert_eq!(server.state, ServerState::Stopped);

    // Poweron: starting → running.
    let (task, waited) = client
        .server_action_and_wait(ZONE, &server.id, ServerAction::Poweron, &options())
        .await
        .unwrap();
    let running = waited.resource.unwrap();
    assert_eq!(running.state, ServerState::Running);
    assert_eq!(waited.history.last().map(String::as_str), Some("running"));
    assert!(waited.polls >= 1);
    // The task points at the server; waiting on it finds it settled.
    match client.wait_task(ZONE, &task, &options()).await.unwrap() {
        TaskOutcome::Server(Some(s)) => assert_eq!(s.state, ServerState::Running),
        TaskOutcome::Task(t) => assert!(!t.status.is_transient()),
        other => panic!("unexpected {other:?}"),
    }

    // Snapshot of a local volume: snapshotting → available.
    let volume = client
        .create_volume(
            ZONE,
            &CreateVolumeRequest {
                name: Some("data".to_owned()),
                volume_type: Some(VolumeVolumeType::LSsd),
                size: Some(20_000_000_000),
                ..CreateVolumeRequest::default()
            },
        )
        .await
        .unwrap();
    let volume_id = volume.id.clone();
    let created = client
        .create_snapshot(
            ZONE,
            &CreateSnapshotRequest {
                name: Some("snap".to_owned()),
                volume_id: Some(volume_id),
                ..CreateSnapshotRequest::default()
            },
        )
        .await
        .unwrap();
    let waited = client
        .wait_snapshot(
            ZONE,
            &created.snapshot.id,
            WaitTarget::State(SnapshotState::Available),
            &options(),
        )
        .await
        .unwrap();
    assert_eq!(waited.resource.unwrap().state, SnapshotState::Available);
    assert_eq!(waited.history.last().map(String::as_str), Some("available"));
    match client
        .wait_task(ZONE, &created.task, &options())
        .await
        .unwrap()
    {
        TaskOutcome::Snapshot(s) => assert_eq!(s.state, SnapshotState::Available),
        TaskOutcome::Task(t) => assert!(!t.status.is_transient()),
        other => panic!("unexpected {other:?}"),
    }

    // Terminate: stopping, then 404, which is the target.
    let (_, waited) = client
        .server_action_and_wait(ZONE, &server.id, ServerAction::Terminate, &options())
        .await
        .unwrap();
    assert!(waited.resource.is_none());
    assert_eq!(waited.history.last().map(String::as_str), Some("gone"));
    let err = client.get_server(ZONE, &server.id).await.unwrap_err();
    assert!(err.is_not_found());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_terminal_state_fails_early_with_the_history() {
    let emu = common::emulator().await;
    let client = common::client(&emu);
    let server = new_server(&client, "early").await;
    client
        .server_action(
            ZONE,
            &server.id,
            &fleet_core::ServerActionRequest {
                action: Some(ServerAction::Poweron),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = client
        .wait_server(
            ZONE,
            &server.id,
            WaitTarget::State(ServerState::StoppedInPlace),
            &options(),
        )
        .await
        .unwrap_err();
    let Error::Wait(wait) = &err else {
        panic!("{err:?}")
    };
    match wait.as_ref() {
        WaitError::UnexpectedState { state, history, .. } => {
            assert_eq!(state, "running");
            assert_eq!(history.last().map(String::as_str), Some("running"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed early, not at the deadline"
    );

    // A 404 while waiting for a state is an error too.
    let err = client
        .wait_server(
            ZONE,
            "00000000-0000-4000-8000-00000000dead",
            WaitTarget::Terminal,
            &options(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Wait(w) if matches!(w.as_ref(), WaitError::Vanished { .. })),
        "{err:?}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_and_cancellation() {
    // Slow transitions so that the server stays `starting`.
    let emu = fleet_emulator::Emulator::builder()
        .transition(Duration::from_secs(60))
        .seed(7)
        .start()
        .await
        .unwrap();
    let client = common::client(&emu);
    let server = new_server(&client, "slow").await;
    client
        .server_action(
            ZONE,
            &server.id,
            &fleet_core::ServerActionRequest {
                action: Some(ServerAction::Poweron),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let short = WaitOptions {
        timeout: Duration::from_millis(300),
        ..options()
    };
    let err = client
        .wait_server(
            ZONE,
            &server.id,
            WaitTarget::State(ServerState::Running),
            &short,
        )
        .await
        .unwrap_err();
    let Error::Wait(wait) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(wait.as_ref(), WaitError::Deadline { .. }),
        "{wait:?}"
    );
    assert_eq!(wait.history(), ["starting"]);
    assert!(err.retryable());

    let cancel = CancellationToken::new();
    let waiting = {
        let client = client.clone();
        let id = server.id.clone();
        let options = WaitOptions {
            cancel: Some(cancel.clone()),
            ..options()
        };
        tokio::spawn(async move {
            client
                .wait_server(ZONE, &id, WaitTarget::State(ServerState::Running), &options)
                .await
        })
    };
    // Wait until the waiter has polled at least once, then cancel it.
    let polled = common::eventually(Duration::from_secs(10), || {
        emu.call_log().iter().filter(|c| c.method == "GET").count() > 3
    })
    .await;
    assert!(polled);
    cancel.cancel();
    let err = waiting.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    emu.shutdown().await;
}

// Block waiters, against a scripted API: each GET answers the next state.

const VOLUME: &str = "/block/v1/zones/fr-par-1/volumes/v1";
const SNAPSHOT: &str = "/block/v1/zones/fr-par-1/snapshots/s1";

fn states(states: &[(&str, &[&str])]) -> Vec<Reply> {
    states
        .iter()
        .map(|(status, references)| Reply::json(200, volume("v1", status, references)))
        .collect()
}

fn wait_error(err: &Error) -> &WaitError {
    match err {
        Error::Wait(wait) => wait,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_block_volume_waits_until_its_references_settle() {
    // After an Instance detach: `in_use` with a detaching reference, then
    // `available` with none.
    let detach = states(&[
        ("in_use", &["detaching"]),
        ("in_use", &["detaching"]),
        ("available", &[]),
    ]);
    let mock = Mock::scripted(vec![("GET", VOLUME.to_owned(), detach)]).await;
    let client = Client::new(common::config_at(&mock.url)).unwrap();
    let waited = client
        .wait_block_volume(ZONE, "v1", WaitTarget::Terminal, &options())
        .await
        .unwrap();
    assert_eq!(waited.history, ["in_use [detaching]", "available"]);
    assert_eq!(waited.polls, 3);
    let volume = waited.resource.unwrap();
    assert_eq!(volume.status, VolumeStatus::Available);
    assert!(volume.references.is_empty());

    // An attach: a named status is reached only with its reference attached.
    let attach = states(&[("in_use", &["attaching"]), ("in_use", &["attached"])]);
    let mock = Mock::scripted(vec![("GET", VOLUME.to_owned(), attach)]).await;
    let client = Client::new(common::config_at(&mock.url)).unwrap();
    let waited = client
        .wait_block_volume(
            ZONE,
            "v1",
            WaitTarget::State(VolumeStatus::InUse),
            &options(),
        )
        .await
        .unwrap();
    assert_eq!(waited.history, ["in_use [attaching]", "in_use [attached]"]);
    assert_eq!(mock.count("GET", VOLUME), 2);
}

#[tokio::test]
async fn a_block_volume_in_error_fails_the_wait_at_once() {
    // A resize that goes wrong: `updating`, then `error`; any terminal state
    // would do, but `error` is a failure.
    let resize = states(&[
        ("updating", &["attached"]),
        ("error", &["attached"]),
        ("available", &["attached"]),
    ]);
    let mock = Mock::scripted(vec![("GET", VOLUME.to_owned(), resize)]).await;
    let client = Client::new(common::config_at(&mock.url)).unwrap();
    let err = client
        .wait_block_volume(ZONE, "v1", WaitTarget::Terminal, &options())
        .await
        .unwrap_err();
    match wait_error(&err) {
        WaitError::UnexpectedState {
            resource,
            id,
            state,
            history,
            ..
        } => {
            assert_eq!((*resource, id.as_str()), ("volume", "v1"));
            assert_eq!(state, "error [attached]");
            assert_eq!(history, &["updating [attached]", "error [attached]"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.retryable());
    assert_eq!(mock.count("GET", VOLUME), 2, "no poll after the failure");

    // A reference in error fails it too; `locked` as well.
    for (status, reference, shown) in [
        ("in_use", "error", "in_use [error]"),
        ("locked", "attached", "locked [attached]"),
    ] {
        let mock = Mock::scripted(vec![(
            "GET",
            VOLUME.to_owned(),
            states(&[(status, &[reference])]),
        )])
        .await;
        let client = Client::new(common::config_at(&mock.url)).unwrap();
        let err = client
            .wait_block_volume(ZONE, "v1", WaitTarget::Terminal, &options())
            .await
            .unwrap_err();
        assert!(
            matches!(wait_error(&err), WaitError::UnexpectedState { state, .. } if state == shown),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn a_deleted_block_volume_is_gone_and_a_missing_one_vanished() {
    let mut replies = states(&[("deleting", &[])]);
    replies.push(Reply::not_found("volume", "v1"));
    let mock = Mock::scripted(vec![("GET", VOLUME.to_owned(), replies)]).await;
    let client = Client::new(common::config_at(&mock.url)).unwrap();
    let waited = client
        .wait_block_volume(ZONE, "v1", WaitTarget::Gone, &options())
        .await
        .unwrap();
    assert!(waited.resource.is_none());
    assert_eq!(waited.history, ["deleting", "gone"]);
    let err = client
        .wait_block_volume(ZONE, "v1", WaitTarget::Terminal, &options())
        .await
        .unwrap_err();
    assert!(
        matches!(
            wait_error(&err),
            WaitError::Vanished {
                resource: "volume",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_block_snapshot_waits_out_creating_and_exporting() {
    let replies = ["creating", "creating", "exporting", "available"]
        .map(|status| Reply::json(200, snapshot("s1", status)))
        .to_vec();
    let mock = Mock::scripted(vec![("GET", SNAPSHOT.to_owned(), replies)]).await;
    let client = Client::new(common::config_at(&mock.url)).unwrap();
    let waited = client
        .wait_block_snapshot(
            ZONE,
            "s1",
            WaitTarget::State(SnapshotStatus::Available),
            &options(),
        )
        .await
        .unwrap();
    assert_eq!(waited.history, ["creating", "exporting", "available"]);
    assert_eq!(waited.polls, 4);

    let replies = ["creating", "error"]
        .map(|status| Reply::json(200, snapshot("s1", status)))
        .to_vec();
    let mock = Mock::scripted(vec![("GET", SNAPSHOT.to_owned(), replies)]).await;
    let client = Client::new(common::config_at(&mock.url)).unwrap();
    let err = client
        .wait_block_snapshot(ZONE, "s1", WaitTarget::Terminal, &options())
        .await
        .unwrap_err();
    match wait_error(&err) {
        WaitError::UnexpectedState {
            resource,
            state,
            history,
            ..
        } => {
            assert_eq!(*resource, "snapshot");
            assert_eq!(state, "error");
            assert_eq!(history, &["creating", "error"]);
        }
        other => panic!("{other:?}"),
    }
}

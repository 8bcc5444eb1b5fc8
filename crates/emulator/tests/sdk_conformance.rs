//! Runs the scripts of `tests/sdk/` with the official Scaleway Python SDK
//! against a live emulator, one emulator per script. Skips only when
//! `FLEET_SDK_PYTHON` (the venv's python, see `scripts/sdk-venv.sh`) is unset.

use std::time::Duration;

use fleet_emulator::{Emulator, TokenEntry, TokensConfig};

/// The scripts' secret key (also their organization and project): the
/// tokens file knows only it, so any other UUID gets 401.
const KEY: &str = "6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c";

/// Start an emulator, run `tests/sdk/<script>` against it and fail the test
/// when the script exits non-zero (it prints which check failed).
async fn run_sdk_script(script: &str) {
    let Ok(python) = std::env::var("FLEET_SDK_PYTHON") else {
        eprintln!("FLEET_SDK_PYTHON unset: skipping the Python SDK script {script}");
        return;
    };
    let tokens = TokensConfig {
        tokens: vec![TokenEntry {
            secret_key: KEY.to_owned(),
            organization_id: KEY.to_owned(),
            projects: vec![KEY.to_owned()],
            default_project_id: None,
        }],
    };
    let emu = match Emulator::builder()
        .transition(Duration::from_millis(50))
        .seed(3)
        .tokens(tokens)
        .start()
        .await
    {
        Ok(e) => e,
        Err(e) => panic!("start: {e}"),
    };
    let path = format!("{}/tests/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    let base = emu.base_url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            // The scripts import sdk_common.py: leave no __pycache__ in the tree.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg(path)
            .arg(base)
            .output()
    })
    .await;
    let out = match out {
        Ok(Ok(o)) => o,
        other => panic!("cannot run python: {other:?}"),
    };
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    emu.shutdown().await;
    assert!(out.status.success(), "SDK script {script} failed");
}

/// Instance API: server life, snapshots, security groups, IPs, errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_conformance() {
    run_sdk_script("conformance.py").await;
}

/// Block API with Instance: the SBS lifecycle of a label-made server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_block_lifecycle() {
    run_sdk_script("block_lifecycle.py").await;
}

/// Instance API: every `*_all` list helper of the SDK, over several pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_list_all() {
    run_sdk_script("list_all.py").await;
}

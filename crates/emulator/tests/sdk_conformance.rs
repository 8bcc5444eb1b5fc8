//! Runs `tests/sdk/conformance.py` with the official Scaleway Python SDK
//! against a live emulator. Skips only when `FLEET_SDK_PYTHON` (the venv's
//! python, see `scripts/sdk-venv.sh`) is unset.

use std::time::Duration;

use fleet_emulator::{Emulator, TokenEntry, TokensConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_conformance() {
    let Ok(python) = std::env::var("FLEET_SDK_PYTHON") else {
        eprintln!("FLEET_SDK_PYTHON unset: skipping the Python SDK conformance test");
        return;
    };
    // A fixed tokens file: the script's key is known, any other UUID gets 401.
    let key = "6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c".to_owned();
    let tokens = TokensConfig {
        tokens: vec![TokenEntry {
            secret_key: key.clone(),
            organization_id: key.clone(),
            projects: vec![key],
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
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/conformance.py");
    let base = emu.base_url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
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
    assert!(out.status.success(), "SDK conformance failed");
}

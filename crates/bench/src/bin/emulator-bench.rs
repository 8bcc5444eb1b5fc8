//! Throughput and p99 latency of the emulator on this machine: GET of one
//! server and list of 100 servers, over keep-alive connections (one
//! reqwest client, hence one pooled HTTP/1.1 connection, per worker).
//! `cargo run --release -p fleet-bench --bin emulator-bench`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fleet_emulator::Emulator;

const TOKEN: &str = "6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c";
const CONNECTIONS: usize = 16;
const DURATION: Duration = Duration::from_secs(3);

/// A client holding one keep-alive connection.
fn connection() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .build()
}

async fn load(addr: SocketAddr, path: String) -> anyhow::Result<(f64, Duration, usize)> {
    let url = format!("http://{addr}{path}");
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let client = connection()?;
            let mut lat = Vec::new();
            let end = Instant::now() + DURATION;
            while Instant::now() < end {
                let t = Instant::now();
                let r = client
                    .get(&url)
                    .header("x-auth-token", TOKEN)
                    .send()
                    .await?;
                let status = r.status();
                // Read the whole body: the connection is reused only after it.
                r.bytes().await?;
                anyhow::ensure!(status == 200, "status {status}");
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort();
    let p99 = all.get(all.len() * 99 / 100).copied().unwrap_or_default();
    Ok((all.len() as f64 / DURATION.as_secs_f64(), p99, all.len()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let emu = Emulator::builder().seed(1).start().await?;
    let addr = emu.local_addr();
    let client = connection()?;
    let mut id = String::new();
    for i in 0..100 {
        let body = serde_json::json!({
            "name": format!("bench-{i}"), "commercial_type": "DEV1-S", "image": "ubuntu_noble",
        });
        let created = client
            .post(format!("http://{addr}/instance/v1/zones/fr-par-1/servers"))
            .header("x-auth-token", TOKEN)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let r: serde_json::Value = serde_json::from_slice(&created)?;
        id = r["server"]["id"].as_str().unwrap_or_default().to_owned();
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "emulator-bench: {threads} CPU(s), {CONNECTIONS} keep-alive connections, {}s per scenario",
        DURATION.as_secs()
    );
    for (name, path) in [
        (
            "GET one server",
            format!("/instance/v1/zones/fr-par-1/servers/{id}"),
        ),
        (
            "list 100 servers",
            "/instance/v1/zones/fr-par-1/servers?per_page=100".to_owned(),
        ),
    ] {
        let (rps, p99, n) = load(addr, path).await?;
        println!(
            "{name:<18} {rps:>9.0} req/s   p99 {:>7.2} ms   ({n} requests)",
            p99.as_secs_f64() * 1000.0
        );
    }
    emu.shutdown().await;
    Ok(())
}

//! Throughput and p99 latency of the emulator on this machine: GET of one
//! server and list of 100 servers, over keep-alive connections.
//! `cargo run --release -p fleet-emulator --bin emulator-bench`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fleet_emulator::Emulator;
use fleet_emulator::minihttp::Conn;

const TOKEN: &str = "6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c";
const CONNECTIONS: usize = 16;
const DURATION: Duration = Duration::from_secs(3);

async fn load(addr: SocketAddr, path: String) -> Result<(f64, Duration, usize), std::io::Error> {
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::connect(addr).await?;
            let mut lat = Vec::new();
            let end = Instant::now() + DURATION;
            while Instant::now() < end {
                let t = Instant::now();
                let r = c
                    .send("GET", &path, &[("x-auth-token", TOKEN)], b"")
                    .await?;
                if r.status != 200 {
                    return Err(std::io::Error::other(format!("status {}", r.status)));
                }
                lat.push(t.elapsed());
            }
            Ok::<_, std::io::Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(std::io::Error::other)??);
    }
    all.sort();
    let p99 = all.get(all.len() * 99 / 100).copied().unwrap_or_default();
    Ok((all.len() as f64 / DURATION.as_secs_f64(), p99, all.len()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emu = Emulator::builder().seed(1).start().await?;
    let addr = emu.local_addr();
    let mut conn = Conn::connect(addr).await?;
    let mut id = String::new();
    for i in 0..100 {
        let body =
            format!(r#"{{"name":"bench-{i}","commercial_type":"DEV1-S","image":"ubuntu_noble"}}"#);
        let r = conn
            .send(
                "POST",
                "/instance/v1/zones/fr-par-1/servers",
                &[
                    ("x-auth-token", TOKEN),
                    ("content-type", "application/json"),
                ],
                body.as_bytes(),
            )
            .await?;
        id = r.json()["server"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
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

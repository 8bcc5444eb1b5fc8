//! `fleet healthcheck`: exits 0 when the probed role is healthy, 1 otherwise. Container images
//! have no shell or curl, so the binary probes itself.

use std::time::Duration;

use anyhow::{Context as _, bail};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Args {
    /// gRPC address to probe with grpc.health.v1 (gateway or worker), e.g. http://127.0.0.1:50051.
    #[arg(long)]
    pub grpc: Option<String>,
    /// HTTP URL that must answer 2xx (the emulator's /emulator/v1/health).
    #[arg(long)]
    pub http: Option<String>,
    /// grpc.health.v1 service name to check ("" = the whole server).
    #[arg(long, default_value = "", requires = "grpc")]
    pub service: String,
    /// Give up after this long.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let probe = async {
        match (&args.grpc, &args.http) {
            (Some(addr), _) => grpc(addr, &args.service).await,
            (None, Some(url)) => http(url).await,
            (None, None) => bail!("give --grpc ADDR or --http URL"),
        }
    };
    tokio::time::timeout(args.timeout, probe)
        .await
        .with_context(|| format!("no answer within {:?}", args.timeout))??;
    println!("healthy");
    Ok(())
}

async fn grpc(addr: &str, service: &str) -> anyhow::Result<()> {
    let endpoint = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    };
    let channel = tonic::transport::Endpoint::from_shared(endpoint)
        .with_context(|| format!("{addr:?} is not a valid address"))?
        .connect()
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .with_context(|| format!("health check of {addr} failed"))?
        .into_inner();
    match ServingStatus::try_from(response.status) {
        Ok(ServingStatus::Serving) => Ok(()),
        Ok(status) => bail!("{addr} reports {}", status.as_str_name()),
        Err(_) => bail!("{addr} reports an unknown status {}", response.status),
    }
}

async fn http(url: &str) -> anyhow::Result<()> {
    let response = reqwest::get(url)
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    Ok(())
}

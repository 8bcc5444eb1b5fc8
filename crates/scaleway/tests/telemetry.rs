//! Spans of HTTP calls follow the OpenTelemetry HTTP client conventions and
//! carry neither the key nor concrete paths; Block calls get the same span
//! with `scaleway.api = "block"`.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::mock::{Mock, Reply, volume};
use fleet_core::{CreateIpRequest, Zone};
use fleet_emulator::Faults;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

type Fields = BTreeMap<String, String>;

#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<BTreeMap<u64, Fields>>>,
}

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        if attrs.metadata().name() != "scaleway.http" {
            return;
        }
        let mut fields = Fields::new();
        attrs.record(&mut Visitor(&mut fields));
        self.spans.lock().unwrap().insert(id.into_u64(), fields);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        if let Some(fields) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Visitor(fields));
        }
    }
}

#[tokio::test]
async fn spans_follow_the_http_client_conventions() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = common::emulator().await;
    let port = emu.local_addr().port();
    let client = common::client(&emu);
    let ip = client
        .create_ip(Zone::FrPar1, &CreateIpRequest::default())
        .await
        .unwrap();
    emu.set_faults(Faults {
        error_5xx_rate: 0.5,
        ..Faults::default()
    });
    for _ in 0..10 {
        client.get_ip(Zone::FrPar1, &ip.id).await.unwrap();
    }
    emu.clear_faults();
    emu.shutdown().await;

    let spans: Vec<Fields> = capture.spans.lock().unwrap().values().cloned().collect();
    let gets: Vec<&Fields> = spans
        .iter()
        .filter(|s| s["http.request.method"] == "GET")
        .collect();
    assert!(gets.len() > 10, "retries made extra spans: {}", gets.len());
    for span in &spans {
        let template = &span["url.template"];
        assert_eq!(span["otel.kind"], "client");
        assert_eq!(
            span["otel.name"],
            format!("{} {template}", span["http.request.method"])
        );
        assert!(
            template.starts_with("/instance/v1/zones/{zone}/ips"),
            "{span:?}"
        );
        assert_eq!(span["server.address"], "127.0.0.1");
        assert_eq!(span["server.port"], port.to_string());
        assert_eq!(span["scaleway.api"], "instance");
        assert_eq!(span["scaleway.zone"], "fr-par-1");
        let all = format!("{span:?}");
        assert!(!all.contains(common::SECRET), "{all}");
        let full = &span["url.full"];
        assert!(
            full.starts_with(&format!(
                "http://127.0.0.1:{port}/instance/v1/zones/fr-par-1/ips"
            )),
            "{full}"
        );
        assert!(!full.contains('?'), "no query string: {full}");
        assert!(!template.contains(&ip.id), "{template}");
        match span.get("http.response.status_code").map(String::as_str) {
            Some("200" | "201") => assert!(!span.contains_key("error.type"), "{span:?}"),
            Some(status) => {
                assert_eq!(span["error.type"], status);
                assert_eq!(span["otel.status_code"], "ERROR");
            }
            None => panic!("no status: {span:?}"),
        }
    }
    let failed = gets.iter().filter(|s| s.contains_key("error.type")).count();
    let resent = gets
        .iter()
        .filter(|s| s.contains_key("http.request.resend_count"))
        .count();
    assert!(failed >= 1);
    assert_eq!(
        failed, resent,
        "every failed attempt was followed by a resend with its count"
    );
    assert!(gets.iter().all(|s| {
        s.get("http.request.resend_count")
            .is_none_or(|n| n.parse::<u32>().unwrap() >= 1)
    }));
}

#[tokio::test]
async fn block_calls_have_the_same_span_with_their_api() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let path = "/block/v1/zones/nl-ams-1/volumes/v1";
    let mock = Mock::scripted(vec![(
        "GET",
        path.to_owned(),
        vec![
            Reply::empty(503),
            Reply::json(200, volume("v1", "available", &[])),
        ],
    )])
    .await;
    let client = fleet_scaleway::Client::new(common::config_at(&mock.url)).unwrap();
    client.block_get_volume(Zone::NlAms1, "v1").await.unwrap();
    let missing = client
        .block_get_snapshot(Zone::NlAms1, "s-missing")
        .await
        .unwrap_err();
    assert!(missing.is_not_found());

    let spans: Vec<Fields> = capture.spans.lock().unwrap().values().cloned().collect();
    assert_eq!(spans.len(), 3, "{spans:?}");
    for span in &spans {
        assert_eq!(span["scaleway.api"], "block");
        assert_eq!(span["scaleway.zone"], "nl-ams-1");
        assert_eq!(span["otel.kind"], "client");
        assert_eq!(span["otel.name"], format!("GET {}", span["url.template"]));
        assert!(!span["url.full"].contains(common::SECRET));
    }
    // Span ids need not follow creation order: match spans by status.
    let by_status = |status: &str| -> &Fields {
        spans
            .iter()
            .find(|s| s["http.response.status_code"] == status)
            .unwrap_or_else(|| panic!("no {status} span: {spans:?}"))
    };
    let volume = "/block/v1/zones/{zone}/volumes/{volume_id}";
    let failed = by_status("503");
    assert_eq!(failed["url.template"], volume);
    assert_eq!(failed["error.type"], "503");
    assert!(!failed.contains_key("http.request.resend_count"));
    let resent = by_status("200");
    assert_eq!(resent["url.template"], volume);
    assert_eq!(resent["http.request.resend_count"], "1");
    assert!(!resent.contains_key("error.type"));
    let missing = by_status("404");
    assert_eq!(
        missing["url.template"],
        "/block/v1/zones/{zone}/snapshots/{snapshot_id}"
    );
    assert_eq!(missing["error.type"], "404");
    assert_eq!(missing["otel.status_code"], "ERROR");
}

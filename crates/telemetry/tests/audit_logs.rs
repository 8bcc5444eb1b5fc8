//! The audit events (target `fleet.audit`) become OpenTelemetry log records with their fields
//! as attributes; no other event does.

use fleet_telemetry::{AUDIT_TARGET, audit_log_layer};
use opentelemetry::Key;
use opentelemetry::logs::AnyValue;
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider};
use tracing_subscriber::layer::SubscriberExt as _;

#[test]
fn only_audit_events_become_log_records_with_their_fields() {
    let exporter = InMemoryLogExporter::default();
    let provider = SdkLoggerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry().with(audit_log_layer(&provider));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(target: AUDIT_TARGET, caller = "ops", method = "fleet.v1.Ips/DeleteIp", outcome = "OK", "audit");
        tracing::info!(caller = "ops", "an ordinary log line");
        tracing::warn!(target: "fleet_gateway::call", "another one");
    });
    provider.force_flush().expect("flush");
    let logs = exporter.get_emitted_logs().expect("emitted logs");
    assert_eq!(logs.len(), 1, "{logs:#?}");
    let record = &logs[0].record;
    assert_eq!(
        record.target().map(|t| t.to_string()).as_deref(),
        Some(AUDIT_TARGET)
    );
    let attribute = |key: &str| {
        record
            .attributes_iter()
            .find(|(k, _)| *k == Key::new(key.to_owned()))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(attribute("caller"), Some(AnyValue::from("ops".to_owned())));
    assert_eq!(
        attribute("method"),
        Some(AnyValue::from("fleet.v1.Ips/DeleteIp".to_owned()))
    );
    assert_eq!(attribute("outcome"), Some(AnyValue::from("OK".to_owned())));
}

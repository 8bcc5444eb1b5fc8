//! The secret key appears in no `Debug`/`Display` output of the client,
//! its config or its errors.

mod common;

use std::time::Duration;

use fleet_core::{CreateServerRequest, Zone};
use fleet_scaleway::{Client, Config, ConfigError, RetryPolicy, Settings};

fn assert_hidden(what: &str, text: &str) {
    assert!(
        !text.contains(common::SECRET),
        "{what} leaks the key: {text}"
    );
    assert!(
        !text.contains("7c4f1d2e"),
        "{what} leaks part of the key: {text}"
    );
}

#[tokio::test]
async fn the_key_never_prints() {
    let emu = common::emulator().await;
    let config = common::config(&emu);
    assert_hidden("config debug", &format!("{config:?}"));
    assert_hidden("config pretty debug", &format!("{config:#?}"));
    assert_hidden("key display", &format!("{}", config.secret_key));
    assert!(format!("{config:?}").contains("[redacted]"));

    let client = Client::builder(config.clone())
        .on_throttle(|_, _| {})
        .build()
        .unwrap();
    assert_hidden("client debug", &format!("{client:?}"));
    assert_hidden(
        "client clone debug",
        &format!("{:?}", client.with_caller("worker-a/epoch-1").idempotent()),
    );
    assert_hidden(
        "rate limiter debug",
        &format!("{:?}", client.rate_limiter()),
    );

    // API errors: 404 with a JSON body, 400, 404 text/plain.
    let not_found = client
        .get_server(Zone::FrPar1, "00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    let bad = client
        .create_server(Zone::FrPar1, &CreateServerRequest::default())
        .await
        .unwrap_err();
    for (what, err) in [("404", &not_found), ("400", &bad)] {
        assert_hidden(what, &format!("{err}"));
        assert_hidden(what, &format!("{err:?}"));
        assert_hidden(what, &format!("{err:#?}"));
    }
    assert!(not_found.is_not_found());
    assert_eq!(bad.status(), Some(400));

    // 401 for a key that is not a UUID: the error does not echo it.
    let odd_key = "not-a-uuid-secret-value";
    let rejected = Client::new(Config::new(odd_key).with_api_url(emu.base_url()))
        .unwrap()
        .list_servers(Zone::FrPar1, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(rejected.status(), Some(401));
    assert!(
        !format!("{rejected} {rejected:?}").contains(odd_key),
        "{rejected:?}"
    );

    // Transport errors: connect refused and timeout.
    let addr = emu.local_addr();
    emu.shutdown().await;
    let dead = Client::new(
        Config::new(common::SECRET)
            .with_api_url(format!("http://{addr}"))
            .with_retry(RetryPolicy::none())
            .with_timeouts(Duration::from_millis(500), Duration::from_millis(500)),
    )
    .unwrap();
    let refused = dead.get_server(Zone::FrPar1, "x").await.unwrap_err();
    assert!(refused.retryable(), "{refused:?}");
    assert_hidden("connect error", &format!("{refused} {refused:?}"));
    assert!(
        !format!("{refused} {refused:?}").contains("http://"),
        "no url in errors: {refused:?}"
    );

    // Config errors do not repeat a bad key either.
    let err = parse_settings(&format!("--scw-secret-key= {}", common::SECRET))
        .into_config()
        .unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { .. }));
    assert_hidden("config error", &format!("{err} {err:?}"));
}

/// The client settings of a command line holding only `arg`.
fn parse_settings(arg: &str) -> Settings {
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }
    <Cli as clap::Parser>::try_parse_from(["test", arg])
        .unwrap()
        .settings
}

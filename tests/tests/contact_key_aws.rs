//! The contact-hash key in AWS: only the router reads it, from Secrets Manager (moto) at
//! start-up; it is never an environment value and never printed.

use aurum::adapters::aws::{AwsBackend, ConnectError};
use aurum_tests::local_aws::{config, fresh_resources, sdk};

const KEY: &str = "a generated key of the contact hashes, 64 chars in production";

async fn secret(name: &str, value: &str) -> String {
    let out = aws_sdk_secretsmanager::Client::new(&sdk().await)
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create secret");
    out.arn().expect("arn").to_owned()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn given_the_key_in_secrets_manager_when_the_router_starts_then_it_hashes_with_that_key() {
    // GIVEN the router's configuration: the secret's ARN, no key in the environment
    let sdk = sdk().await;
    let resources = fresh_resources();
    aurum::adapters::setup::setup(&sdk, &resources)
        .await
        .expect("setup");
    let arn = secret(&unique("aurum-contact-hash-key"), KEY).await;
    let mut router_config = config(resources.clone(), None);
    router_config.routing.contact_key = aurum::config::ContactKey::default();
    router_config.routing.contact_key_secret = Some(arn);
    // WHEN it connects
    let backend = AwsBackend::connect_with(&sdk, &router_config)
        .await
        .expect("connect");
    // THEN the key is the secret's value, and the router starts with it
    assert_eq!(backend.config.routing.contact_key.bytes(), KEY.as_bytes());
    assert!(!format!("{:?}", backend.config).contains(KEY));
    assert!(aurum_router::distribution(&backend).is_ok());

    // AND a function without the key or its secret (every other one) connects, but the
    // router refuses to start without it
    let mut other = config(resources, None);
    other.routing.contact_key = aurum::config::ContactKey::default();
    let backend = AwsBackend::connect_with(&sdk, &other)
        .await
        .expect("connect");
    assert!(matches!(
        aurum_router::distribution(&backend),
        Err(aurum_router::StartError::NoContactKey)
    ));
}

#[tokio::test]
async fn given_a_missing_or_short_secret_then_the_router_does_not_start_and_no_key_is_printed() {
    let sdk = sdk().await;
    let resources = fresh_resources();
    for (id, shown) in [
        (unique("aurum-no-such-secret"), None),
        (
            secret(&unique("aurum-short"), "short-key").await,
            Some("short-key"),
        ),
    ] {
        let mut c = config(resources.clone(), None);
        c.routing.contact_key = aurum::config::ContactKey::default();
        c.routing.contact_key_secret = Some(id);
        let err = match AwsBackend::connect_with(&sdk, &c).await {
            Err(e) => e,
            Ok(_) => panic!("a backend without a usable key"),
        };
        assert!(matches!(err, ConnectError::ContactSecret(_)), "{err}");
        if let Some(value) = shown {
            assert!(!err.to_string().contains(value), "{err}");
        }
    }
}

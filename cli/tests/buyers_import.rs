//! `aurum buyers import` as an operator runs it: the binary, a file, the embedded store.

use aurum::adapters::embedded::EmbeddedStore;
use aurum::ports::BuyerStore;
use std::process::Command;

fn aurum(args: &[&str], data_dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_aurum"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("AURUM_BACKEND", "embedded")
        .output()
        .expect("aurum runs")
}

fn example() -> String {
    format!("{}/../examples/buyers.toml", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn given_the_example_file_when_imported_then_every_buyer_is_in_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = aurum(&["buyers", "import", &example()], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("imported solarreviews"), "{printed}");
    assert!(
        !printed.contains("whsec_"),
        "secrets are never printed: {printed}"
    );
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let buyers = store.buyers().await.expect("buyers");
    assert_eq!(buyers.len(), 7);
    let exchange = buyers
        .iter()
        .find(|b| b.id.as_str() == "nyc_exchange")
        .expect("the ping-post example");
    assert_eq!(
        exchange.ping_post.as_ref().map(|p| p.deadline_ms),
        Some(300),
        "its ping terms are imported"
    );
}

#[tokio::test]
async fn given_a_file_with_one_bad_buyer_when_imported_then_nothing_is_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(example())
        .expect("example")
        .replacen("daily_cap = 4\n", "daily_cap = 0\n", 1);
    let file = dir.path().join("buyers.toml");
    std::fs::write(&file, text).expect("write");
    let out = aurum(
        &["buyers", "import", file.to_str().expect("utf-8 path")],
        &dir.path().join("db"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("park_slope_solar") && err.contains("daily_cap"),
        "names the buyer and the field: {err}"
    );
    assert!(err.contains("nothing imported"), "{err}");
    let store = EmbeddedStore::open(&dir.path().join("db")).expect("open");
    assert!(store.buyers().await.expect("buyers").is_empty());
}

/// GIVEN a deployment's rule for outbound requests (`AURUM_OUTBOUND=public`, the AWS
/// default) WHEN a file points a buyer's webhook at the instance metadata service, or its
/// ping at a decimal-written loopback address THEN the import refuses it, names the field,
/// and imports nothing.
#[tokio::test]
async fn given_a_deployment_when_a_buyer_points_at_an_internal_address_then_nothing_is_imported() {
    let example = std::fs::read_to_string(example()).expect("example");
    let first_url = example
        .lines()
        .find_map(|l| l.strip_prefix("webhook_url = "))
        .expect("a webhook url")
        .to_owned();
    let first_ping = example
        .lines()
        .find_map(|l| l.strip_prefix("ping_url = "))
        .expect("a ping url")
        .to_owned();
    for (field, text) in [
        (
            "webhook_url",
            example.replacen(
                &first_url,
                "\"https://169.254.169.254/latest/meta-data\"",
                1,
            ),
        ),
        (
            "ping_url",
            example.replacen(&first_ping, "\"https://2130706433:9000/bid\"", 1),
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("buyers.toml");
        std::fs::write(&file, text).expect("write");
        let out = Command::new(env!("CARGO_BIN_EXE_aurum"))
            .args(["buyers", "import", file.to_str().expect("utf-8 path")])
            .arg("--data-dir")
            .arg(dir.path().join("db"))
            .env("AURUM_BACKEND", "embedded")
            .env("AURUM_OUTBOUND", "public")
            .output()
            .expect("aurum runs");
        assert!(!out.status.success(), "{field}: imported");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains(field) && said.contains("nothing imported"),
            "{said}"
        );
        if dir.path().join("db").exists() {
            let store = EmbeddedStore::open(&dir.path().join("db")).expect("open");
            assert!(store.buyers().await.expect("buyers").is_empty());
        }
    }
}

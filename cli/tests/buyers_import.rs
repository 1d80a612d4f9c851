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

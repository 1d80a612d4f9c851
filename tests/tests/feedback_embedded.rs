//! Buyer feedback on the embedded store (what `aurum serve` runs): the attacks refused with
//! nothing changed, concurrent repeats applied once, the ledger, counters and statements,
//! the window and the rate limit, and the whole chat-to-statement path.

use aurum::adapters::embedded::EmbeddedBackend;
use aurum_tests::contract::ManualTime;
use aurum_tests::feedback;

fn backend(time: &ManualTime) -> (tempfile::TempDir, EmbeddedBackend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = EmbeddedBackend::open_with_clock(dir.path(), time.clock()).expect("open");
    (dir, backend)
}

#[tokio::test]
async fn given_every_attack_on_the_embedded_store_then_each_is_refused_and_nothing_changes() {
    let (_dir, backend) = backend(&ManualTime::default());
    feedback::every_attack_is_refused_and_changes_nothing(&backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_20_identical_posts_at_once_on_the_embedded_store_then_one_is_applied() {
    let (_dir, backend) = backend(&ManualTime::default());
    feedback::twenty_identical_posts_apply_once(&backend).await;
}

#[tokio::test]
async fn given_feedback_on_the_embedded_store_then_ledger_stats_and_statements_follow() {
    let (_dir, backend) = backend(&ManualTime::default());
    feedback::feedback_reaches_the_ledger_stats_and_statements(&backend).await;
}

#[tokio::test]
async fn given_a_late_return_and_a_flood_on_the_embedded_store_then_422_and_429() {
    let time = ManualTime::default();
    let (_dir, mut backend) = backend(&time);
    let mut config = (*backend.config).clone();
    config.feedback.rate_per_minute = 5;
    backend.config = std::sync::Arc::new(config);
    feedback::late_returns_and_floods_are_refused(&backend, &time).await;
}

#[tokio::test]
async fn given_a_chat_on_aurum_serve_when_the_buyer_posts_feedback_then_its_statement_shows_it() {
    let (_dir, backend) = backend(&ManualTime::default());
    feedback::chat_to_statement(&backend).await;
}

#[tokio::test]
async fn given_buyers_on_the_embedded_store_when_each_reads_its_statement_then_only_its_own_with_its_signature()
 {
    let (_dir, backend) = backend(&ManualTime::default());
    feedback::buyers_read_only_their_own_statement(&backend).await;
}

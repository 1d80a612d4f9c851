//! The chaos run end to end: loopback buyers failing every way, withdrawals, routers that
//! panic or die after the sale, the reconcile step and the redrive.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_buyers_failing_and_routers_dying_when_leads_are_routed_then_every_lead_ends_and_every_book_balances()
 {
    // GIVEN five loopback buyers (404s, late answers, 500s, silence, refusals), withdrawals
    // and crashing routers WHEN 60 leads are routed, reconciled and redriven
    let report = aurum_cli::chaos::run(11, 60)
        .await
        .expect("the run completes");
    // THEN no lead is left in flight, and each buyer's ledger net and cap count equal the
    // sales that stand with it
    assert!(report.sound(), "{}", report.markdown());
    assert_eq!(report.end_states.values().sum::<usize>(), 60);
    assert!(
        report.end_states.get("delivered").copied().unwrap_or(0) > 40,
        "{}",
        report.markdown()
    );
    let gone = report
        .buyers
        .iter()
        .find(|b| b.behaviour == "gone")
        .expect("the buyer whose webhook is gone");
    assert_eq!(
        gone.standing_sales, 0,
        "a webhook that answers 404 keeps nothing"
    );
    assert_eq!(gone.ledger_net_cents, 0);
}

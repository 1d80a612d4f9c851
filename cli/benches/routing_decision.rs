//! The router's domain work per lead, without the store or the buyers' webhooks: one
//! synthetic New York day of 400 leads (`aurum simulate routing`, seed 7) routed in
//! arrival order by `bid_price` over its seven buyers, each lead's bid prices re-estimated
//! over a five-day forecast first. Criterion reports time per day and leads per second;
//! `scripts/bench.sh` divides the router's measured time per lead by it.

use aurum_cli::simulate::{RoutingDay, Scenario};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let day = RoutingDay::prepare(&Scenario::new(7, 400)).expect("the scenario is valid");
    let mut group = c.benchmark_group("routing");
    group.throughput(Throughput::Elements(day.leads() as u64));
    group.bench_function("400_leads_bid_price", |b| {
        b.iter(|| {
            black_box(&day)
                .route_bid_price()
                .expect("every lead routed")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

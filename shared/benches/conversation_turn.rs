//! One conversation turn through the domain (`domain::turn::decide_text`: extract, absorb,
//! score, reply, lead decision), measured over a realistic 20-turn chat. Criterion reports
//! time per 20 turns and turns per second.

use aurum::domain::conversation::{ContextHints, Conversation, SessionId};
use aurum::domain::scoring::ScoringModel;
use aurum::domain::targets::Targets;
use aurum::domain::turn::{Rules, decide_text};
use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const CHAT: [&str; 20] = [
    "Hi, I'm thinking about solar panels for my house",
    "Yes, I own it. It's a two-family home in Astoria",
    "Our Con Ed bill is about $320 a month, more in the summer",
    "The ZIP is 11105",
    "How much could I actually save per year?",
    "What kind of inverters do you use? Microinverters or a string inverter?",
    "Does net metering still work with Con Edison?",
    "I'm a bit worried about the cost, it sounds expensive",
    "OK that makes sense",
    "What about a battery like a Powerwall for outages?",
    "We'd like to get it installed in the next few months",
    "My wife and I would decide together",
    "We'd probably finance it with a solar loan, our credit is excellent",
    "We got one quote from another installer already",
    "Is the roof going to be a problem? It was replaced in 2019",
    "What warranty comes with the panels?",
    "Sounds good, I'm excited about this",
    "My name is Maria Lopez",
    "You can reach me at (718) 555-0142 or maria.lopez@example.com",
    "Yes, you can share my info with an installer and have them call me",
];

fn run_chat(model: &ScoringModel, start: DateTime<Utc>) -> u32 {
    let mut c = Conversation::new(SessionId::parse("bench").expect("id"), start);
    let hints = ContextHints::default();
    let mut checksum = 0u32;
    for (i, message) in CHAT.iter().enumerate() {
        let now = start + Duration::seconds(40 * i as i64);
        let rules = Rules {
            model,
            targets: &Targets::default(),
            buyers: &[],
        };
        let d = decide_text(c, black_box(message), &hints, rules, now);
        checksum = checksum
            .wrapping_add(u32::from(d.score.total))
            .wrapping_add(d.reply.content.len() as u32);
        c = d.conversation;
    }
    checksum
}

fn bench(c: &mut Criterion) {
    let model = ScoringModel::default();
    let start = Utc
        .with_ymd_and_hms(2026, 5, 12, 15, 0, 0)
        .single()
        .expect("valid");
    // Warm the lazily parsed market data and compiled patterns outside the measurement.
    black_box(run_chat(&model, start));
    let mut group = c.benchmark_group("conversation");
    group.throughput(Throughput::Elements(CHAT.len() as u64));
    group.bench_function("20_turn_chat", |b| {
        b.iter(|| run_chat(&model, black_box(start)))
    });
    // The extraction share of a turn: the same 20 messages through `extract` alone.
    group.bench_function("20_messages_extract_only", |b| {
        b.iter(|| {
            CHAT.iter()
                .map(|m| aurum::domain::extract::extract(black_box(m)).questions_asked)
                .sum::<u32>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

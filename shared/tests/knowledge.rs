//! The knowledge base's held-out questions (`shared/tests/knowledge/heldout.tsv`): wordings
//! not in `data/questions.json`, in other styles (texting, typos, Spanish), read through
//! the same extraction the conversation endpoint runs. Prints the share of questions that
//! find their entry and of statements that find none, per part and per style; fails when
//! the test part falls below the figures recorded in BENCHMARKS.md.
//!
//! ```sh
//! cargo test -p aurum-shared --test knowledge -- --nocapture
//! AURUM_KB_DETAILS=dev cargo test -p aurum-shared --test knowledge -- --nocapture   # every miss of the dev part
//! ```

use aurum::domain::extract::extract;
use aurum::domain::knowledge::knowledge;
use std::collections::BTreeMap;

/// The recorded floor of the test part: questions that find their entry.
const TEST_HIT_RATE_FLOOR: f64 = 0.80;
/// The recorded floor of the test part: statements and off-topic questions left alone.
const TEST_REJECT_RATE_FLOOR: f64 = 0.90;

struct Case {
    part: String,
    style: String,
    expected: Option<String>,
    text: String,
}

fn cases() -> Vec<Case> {
    include_str!("knowledge/heldout.tsv")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.splitn(4, '\t').collect();
            assert_eq!(cols.len(), 4, "four columns: {l}");
            Case {
                part: cols[0].to_owned(),
                style: cols[1].to_owned(),
                expected: (cols[2] != "-").then(|| cols[2].to_owned()),
                text: cols[3].to_owned(),
            }
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    hits: u32,
    questions: u32,
    rejected: u32,
    statements: u32,
}

impl Tally {
    fn hit_rate(&self) -> f64 {
        f64::from(self.hits) / f64::from(self.questions.max(1))
    }
    fn reject_rate(&self) -> f64 {
        f64::from(self.rejected) / f64::from(self.statements.max(1))
    }
}

#[test]
fn given_held_out_wordings_when_read_as_messages_then_questions_find_their_entry_and_statements_none()
 {
    let kb = knowledge();
    let details = std::env::var("AURUM_KB_DETAILS").unwrap_or_default();
    let mut by: BTreeMap<(String, String), Tally> = BTreeMap::new();
    for case in cases() {
        if let Some(id) = &case.expected {
            assert!(kb.by_id(id).is_some(), "unknown entry {id}");
            assert!(
                kb.entries()
                    .iter()
                    .all(|e| e.q.iter().all(|q| !q.eq_ignore_ascii_case(&case.text))),
                "held-out wording is in the data file: {}",
                case.text
            );
        }
        let first = extract(&case.text).known_questions.first().copied();
        let found = first.map(|k| kb.entry(k.entry).id.clone());
        let ok = found == case.expected;
        for key in [
            (case.part.clone(), "all".to_owned()),
            (case.part.clone(), case.style.clone()),
        ] {
            let t = by.entry(key).or_default();
            match case.expected {
                Some(_) => {
                    t.questions += 1;
                    t.hits += u32::from(ok);
                }
                None => {
                    t.statements += 1;
                    t.rejected += u32::from(ok);
                }
            }
        }
        if !ok && details == case.part {
            println!(
                "miss [{}] {:?}: found {found:?} ({:.2}), want {:?}",
                case.style,
                case.text,
                first.map_or(0.0, |k| k.score),
                case.expected
            );
        }
    }
    for ((part, style), t) in &by {
        println!(
            "{part:<5} {style:<8} questions {:>3}/{:<3} = {:>6.2} % | statements left alone {:>2}/{:<2} = {:>6.2} %",
            t.hits,
            t.questions,
            100.0 * t.hit_rate(),
            t.rejected,
            t.statements,
            100.0 * t.reject_rate()
        );
    }
    let test = &by[&("test".to_owned(), "all".to_owned())];
    assert!(test.questions >= 100, "{}", test.questions);
    assert!(
        test.hit_rate() >= TEST_HIT_RATE_FLOOR,
        "held-out questions answered: {:.2} %",
        100.0 * test.hit_rate()
    );
    assert!(
        test.reject_rate() >= TEST_REJECT_RATE_FLOOR,
        "held-out statements left alone: {:.2} %",
        100.0 * test.reject_rate()
    );
}

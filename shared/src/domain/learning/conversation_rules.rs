//! Conversation rules: which questions the agent asks (and which recommendations it
//! shows) before leads that end qualified and kept by a buyer. The agent ranks missing
//! facts by the revenue knowing them adds; the learned rules tilt that ranking by a
//! bounded factor, so a question moves past another only when their values are close.

use crate::domain::facts::Ask;
use crate::domain::money::Cents;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Every question the agent can ask, in a fixed order (an exhaustive match keeps it
/// complete when a question is added).
pub const ASKS: [Ask; 10] = [
    Ask::Homeowner,
    Ask::Bill,
    Ask::Zip,
    Ask::PropertyType,
    Ask::Timeline,
    Ask::DecisionMaker,
    Ask::Financing,
    Ask::CompetingQuotes,
    Ask::Contact,
    Ask::Consent,
];

fn slot(ask: Ask) -> usize {
    match ask {
        Ask::Homeowner => 0,
        Ask::Bill => 1,
        Ask::Zip => 2,
        Ask::PropertyType => 3,
        Ask::Timeline => 4,
        Ask::DecisionMaker => 5,
        Ask::Financing => 6,
        Ask::CompetingQuotes => 7,
        Ask::Contact => 8,
        Ask::Consent => 9,
    }
}

/// One finished conversation as the rules learn from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationOutcome {
    /// The questions the agent asked, in order, before the lead was queued (or the
    /// conversation ended).
    pub asked: Vec<Ask>,
    /// The recommendations shown in those turns.
    #[serde(default)]
    pub recommended: Vec<String>,
    /// The lead was queued for routing.
    pub qualified: bool,
    /// A buyer kept it (accepted or converted).
    pub kept: bool,
}

impl ConversationOutcome {
    fn succeeded(&self) -> bool {
        self.qualified && self.kept
    }
}

/// Characters of a recommendation kept as its key.
pub const RECOMMENDATION_KEY_CHARS: usize = 40;

/// What identifies a recommendation across conversations: its opening words with every
/// figure (digits, with the `$`, `,` and `.` inside amounts) written `#`, at most
/// [`RECOMMENDATION_KEY_CHARS`] characters, so the same advice about other amounts is one
/// item.
pub fn recommendation_key(text: &str) -> String {
    // Byte by byte (a figure is ASCII), copying the runs between figures whole.
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(RECOMMENDATION_KEY_CHARS + 8);
    let mut in_figure = false;
    let mut n = 0;
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next_digit = bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        let figure = b.is_ascii_digit()
            || (b == b'$' && next_digit)
            || (in_figure && matches!(b, b',' | b'.') && next_digit);
        if figure {
            if !in_figure {
                if n >= RECOMMENDATION_KEY_CHARS {
                    break;
                }
                out.push_str(&text[run..i]);
                out.push('#');
                n += 1;
            }
            in_figure = true;
            run = i + 1;
        } else {
            // A character starts on any byte but a UTF-8 continuation byte.
            if b & 0xc0 != 0x80 {
                if n >= RECOMMENDATION_KEY_CHARS {
                    break;
                }
                n += 1;
            }
            in_figure = false;
        }
        i += 1;
    }
    out.push_str(&text[run.min(i)..i]);
    out
}

/// A learned tilt on one question: its value is multiplied by 1 + bias_bps / 10,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskBias {
    pub ask: Ask,
    pub bias_bps: i32,
    /// Conversations that asked it, and how many of those succeeded.
    pub asked: u64,
    pub succeeded: u64,
}

/// A learned tilt on one recommendation (by its text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecommendationBias {
    pub text: String,
    pub bias_bps: i32,
    pub shown: u64,
    pub succeeded: u64,
}

/// The rules handed to the agent, versioned like the scoring model. Version 0 (the
/// default) has no tilt: the agent as it ranks on its own.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConversationRules {
    pub version: u32,
    pub learned_at: Option<DateTime<Utc>>,
    /// Conversations learned from, and the successes among them.
    pub conversations: u64,
    pub succeeded: u64,
    /// One per question, in [`ASKS`] order (empty: no tilt).
    pub asks: Vec<AskBias>,
    /// Recommendations with enough evidence, most favoured first.
    pub recommendations: Vec<RecommendationBias>,
}

/// The bounds of learning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RulesSettings {
    /// Fewer finished conversations than this: no new version.
    pub min_conversations: usize,
    /// A question or recommendation seen fewer times keeps no tilt.
    pub min_per_item: u64,
    /// No tilt beyond ±this (bps of the question's value).
    pub max_bias_bps: i32,
    /// Most a tilt may move in one version.
    pub max_step_bps: i32,
    /// Pseudo-conversations at the overall success rate added to each item (shrinks
    /// small samples towards no tilt).
    pub prior_conversations: f64,
    /// Most places a recommendation may move in the list.
    pub max_recommendation_shift: usize,
}

impl Default for RulesSettings {
    fn default() -> Self {
        RulesSettings {
            min_conversations: 200,
            min_per_item: 30,
            max_bias_bps: 2_500,
            max_step_bps: 1_000,
            prior_conversations: 20.0,
            max_recommendation_shift: 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoRulesUpdate {
    #[error("{have} finished conversations; new rules need {need}")]
    TooFewConversations { have: usize, need: usize },
    #[error("no conversation succeeded (qualified and kept): nothing to learn from")]
    NoSuccess,
}

/// The bounded tilt of an item seen `n` times with `k` successes, against the overall
/// success rate `p0`: log of its smoothed lift, moved at most one step from `current`.
fn tilt(k: u64, n: u64, p0: f64, current: i32, s: &RulesSettings) -> i32 {
    if n < s.min_per_item || p0 <= 0.0 {
        return step_towards(current, 0, s);
    }
    let smoothed = (k as f64 + s.prior_conversations * p0) / (n as f64 + s.prior_conversations);
    let lift = (smoothed / p0).ln();
    let target = (lift * 10_000.0)
        .round()
        .clamp(-f64::from(s.max_bias_bps), f64::from(s.max_bias_bps)) as i32;
    step_towards(current, target, s)
}

fn step_towards(current: i32, target: i32, s: &RulesSettings) -> i32 {
    let step = s.max_step_bps.max(0);
    target
        .clamp(current.saturating_sub(step), current.saturating_add(step))
        .clamp(-s.max_bias_bps.abs(), s.max_bias_bps.abs())
}

/// New rules from finished conversations: each question's and recommendation's tilt
/// follows how often the conversations that used it succeeded, bounded per version.
pub fn learn(
    current: &ConversationRules,
    outcomes: &[ConversationOutcome],
    settings: &RulesSettings,
    learned_at: DateTime<Utc>,
) -> Result<ConversationRules, NoRulesUpdate> {
    if outcomes.len() < settings.min_conversations {
        return Err(NoRulesUpdate::TooFewConversations {
            have: outcomes.len(),
            need: settings.min_conversations,
        });
    }
    let succeeded = outcomes.iter().filter(|o| o.succeeded()).count() as u64;
    if succeeded == 0 {
        return Err(NoRulesUpdate::NoSuccess);
    }
    let p0 = succeeded as f64 / outcomes.len() as f64;

    let mut asked = [0u64; ASKS.len()];
    let mut asked_ok = [0u64; ASKS.len()];
    let mut shown: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for o in outcomes {
        let mut seen = [false; ASKS.len()];
        for a in &o.asked {
            seen[slot(*a)] = true;
        }
        for (i, was) in seen.iter().enumerate() {
            if *was {
                asked[i] += 1;
                asked_ok[i] += u64::from(o.succeeded());
            }
        }
        let mut texts: Vec<String> = o
            .recommended
            .iter()
            .map(|t| recommendation_key(t))
            .collect();
        texts.sort_unstable();
        texts.dedup();
        for t in texts {
            let e = shown.entry(t).or_default();
            e.0 += 1;
            e.1 += u64::from(o.succeeded());
        }
    }
    let asks = ASKS
        .iter()
        .map(|&ask| {
            let i = slot(ask);
            AskBias {
                ask,
                bias_bps: tilt(
                    asked_ok[i],
                    asked[i],
                    p0,
                    current.ask_bias_bps(ask),
                    settings,
                ),
                asked: asked[i],
                succeeded: asked_ok[i],
            }
        })
        .collect();
    let mut recommendations: Vec<RecommendationBias> = shown
        .into_iter()
        .filter(|(_, (n, _))| *n >= settings.min_per_item)
        .map(|(text, (n, k))| RecommendationBias {
            bias_bps: tilt(k, n, p0, current.recommendation_bias_bps(&text), settings),
            text,
            shown: n,
            succeeded: k,
        })
        .collect();
    recommendations.sort_by(|a, b| b.bias_bps.cmp(&a.bias_bps).then(a.text.cmp(&b.text)));
    Ok(ConversationRules {
        version: current.version + 1,
        learned_at: Some(learned_at),
        conversations: outcomes.len() as u64,
        succeeded,
        asks,
        recommendations,
    })
}

impl ConversationRules {
    pub fn ask_bias_bps(&self, ask: Ask) -> i32 {
        self.asks
            .iter()
            .find(|b| b.ask == ask)
            .map_or(0, |b| b.bias_bps)
    }

    pub fn recommendation_bias_bps(&self, text: &str) -> i32 {
        let key = recommendation_key(text);
        self.recommendations
            .iter()
            .find(|b| b.text == key)
            .map_or(0, |b| b.bias_bps)
    }

    /// Re-ranks the agent's missing facts (`agent::ranked_asks`, most valuable first):
    /// each value is tilted by its bias; equal values (often all zero early in a chat,
    /// while the lead is not sellable yet) go by bias, then the agent's order. A question
    /// the agent left out (consent before contact, say) is never added.
    pub fn reorder_asks(&self, ranked: Vec<(Ask, Cents)>) -> Vec<(Ask, Cents)> {
        let mut tilted: Vec<(usize, Ask, Cents, i64, i32)> = ranked
            .into_iter()
            .enumerate()
            .map(|(i, (ask, gain))| {
                let bias = self.ask_bias_bps(ask);
                // A tilt in favour raises a value and never lowers it, whatever its sign.
                let adjusted = gain
                    .0
                    .saturating_add(gain.0.abs().saturating_mul(i64::from(bias)) / 10_000);
                (i, ask, gain, adjusted, bias)
            })
            .collect();
        tilted.sort_by(|a, b| b.3.cmp(&a.3).then(b.4.cmp(&a.4)).then(a.0.cmp(&b.0)));
        tilted
            .into_iter()
            .map(|(_, ask, gain, _, _)| (ask, gain))
            .collect()
    }

    /// Re-orders recommendations (the agent's order is by urgency): each moves at most
    /// `max_shift` places, up for a positive tilt and down for a negative one.
    pub fn reorder_recommendations(&self, texts: Vec<String>, max_shift: usize) -> Vec<String> {
        let limit = self
            .recommendations
            .iter()
            .map(|r| r.bias_bps.unsigned_abs())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut keyed: Vec<(i64, usize, String)> = texts
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let bias = i64::from(self.recommendation_bias_bps(&t));
                let shift = bias * max_shift as i64 * 2 / i64::from(limit);
                // Keys in half places, with half a place more to pass a tie: a shift of s
                // places moves an item past at most s others.
                ((i as i64) * 2 - shift - shift.signum(), i, t)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        keyed.into_iter().map(|(_, _, t)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_advice_with_figures_and_accents_when_keyed_then_figures_become_hash_and_letters_stay()
    {
        assert_eq!(
            recommendation_key("Ahorro: $1,200.50 al año, 3 años más"),
            "Ahorro: # al año, # años más"
        );
        assert_eq!(recommendation_key("Call in 2-3 days."), "Call in #-# days.");
        let long = "é".repeat(60);
        assert_eq!(
            recommendation_key(&long).chars().count(),
            RECOMMENDATION_KEY_CHARS
        );
    }

    fn at() -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 1, 12, 0, 0)
            .single()
            .expect("t")
    }

    fn outcome(asked: &[Ask], ok: bool) -> ConversationOutcome {
        ConversationOutcome {
            asked: asked.to_vec(),
            recommended: Vec::new(),
            qualified: ok,
            kept: ok,
        }
    }

    #[test]
    fn given_too_few_conversations_then_no_rules_are_learned() {
        let few = vec![outcome(&[Ask::Bill], true); 10];
        assert_eq!(
            learn(
                &ConversationRules::default(),
                &few,
                &RulesSettings::default(),
                at()
            ),
            Err(NoRulesUpdate::TooFewConversations {
                have: 10,
                need: 200
            })
        );
    }

    #[test]
    fn given_a_question_that_precedes_success_then_it_is_favoured_within_bounds() {
        let mut feed = Vec::new();
        for i in 0..400 {
            // Asking the timeline succeeds 60 % of the time, the financing question 20 %.
            feed.push(outcome(&[Ask::Bill, Ask::Timeline], i % 5 < 3));
            feed.push(outcome(&[Ask::Bill, Ask::Financing], i % 5 == 0));
        }
        let s = RulesSettings::default();
        let v1 = learn(&ConversationRules::default(), &feed, &s, at()).expect("rules");
        assert_eq!(v1.version, 1);
        assert_eq!(
            v1.ask_bias_bps(Ask::Timeline),
            s.max_step_bps,
            "one step per version"
        );
        assert_eq!(v1.ask_bias_bps(Ask::Financing), -s.max_step_bps);
        assert_eq!(v1.ask_bias_bps(Ask::Zip), 0, "never asked: no tilt");
        let v3 = learn(&learn(&v1, &feed, &s, at()).expect("v2"), &feed, &s, at()).expect("v3");
        assert!(v3.ask_bias_bps(Ask::Timeline) <= s.max_bias_bps);
        assert_eq!(v3.ask_bias_bps(Ask::Financing), -s.max_bias_bps);
        assert!(v3.ask_bias_bps(Ask::Timeline) > v1.ask_bias_bps(Ask::Timeline));

        // A close call flips; a far one does not.
        let ranked = vec![
            (Ask::Financing, Cents(1_000)),
            (Ask::Timeline, Cents(950)),
            (Ask::Zip, Cents(100)),
        ];
        let order: Vec<Ask> = v3
            .reorder_asks(ranked)
            .into_iter()
            .map(|(a, _)| a)
            .collect();
        assert_eq!(order, [Ask::Timeline, Ask::Financing, Ask::Zip]);
        let far = vec![(Ask::Financing, Cents(5_000)), (Ask::Timeline, Cents(950))];
        let order: Vec<Ask> = v3.reorder_asks(far).into_iter().map(|(a, _)| a).collect();
        assert_eq!(order, [Ask::Financing, Ask::Timeline]);
    }

    #[test]
    fn given_the_agents_ranking_then_a_favoured_question_only_moves_up_and_nothing_is_lost() {
        use crate::domain::agent::ranked_asks;
        use crate::domain::conversation::{Conversation, SessionId};
        use crate::domain::scoring::{ScoringModel, score};
        let model = ScoringModel::default();
        let mut c = Conversation::new(SessionId::parse("rules").expect("id"), at());
        c.facts.homeowner = Some(true);
        c.facts.monthly_bill = Some(Cents::from_dollars(250));
        let s = score(&model, &c, at());
        let ranked = ranked_asks(&model, &c, &s, at());
        assert!(ranked.len() >= 4, "{ranked:?}");
        let favoured = ranked[ranked.len() - 1].0;
        let rules = ConversationRules {
            version: 1,
            asks: vec![AskBias {
                ask: favoured,
                bias_bps: 2_500,
                asked: 100,
                succeeded: 60,
            }],
            ..ConversationRules::default()
        };
        let before: Vec<Ask> = ranked.iter().map(|(a, _)| *a).collect();
        let after: Vec<Ask> = rules
            .reorder_asks(ranked)
            .into_iter()
            .map(|(a, _)| a)
            .collect();
        assert_eq!(after.len(), before.len());
        let at_before = before.iter().position(|a| *a == favoured);
        let at_after = after.iter().position(|a| *a == favoured);
        assert!(at_after <= at_before);
        let others = |v: &[Ask]| {
            v.iter()
                .copied()
                .filter(|a| *a != favoured)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            others(&after),
            others(&before),
            "the others keep the agent's order"
        );
    }

    #[test]
    fn given_rules_that_favour_a_question_then_the_agents_reply_asks_it_first_when_close() {
        use crate::domain::agent::{Before, ranked_asks, reply, reply_with_rules};
        use crate::domain::conversation::{Conversation, SessionId};
        use crate::domain::facts::MessageFacts;
        use crate::domain::scoring::{ScoringModel, score};
        let model = ScoringModel::default();
        let mut c = Conversation::new(SessionId::parse("hook").expect("id"), at());
        c.facts.homeowner = Some(true);
        c.facts.monthly_bill = Some(Cents::from_dollars(250));
        let s = score(&model, &c, at());
        let ranked = ranked_asks(&model, &c, &s, at());
        // Early on every question is worth nothing yet: the tilt breaks the tie.
        assert!(
            ranked.iter().all(|(_, gain)| *gain == Cents::ZERO),
            "{ranked:?}"
        );
        let last = ranked[ranked.len() - 1].0;
        let rules = ConversationRules {
            version: 1,
            asks: vec![AskBias {
                ask: last,
                bias_bps: 500,
                asked: 100,
                succeeded: 60,
            }],
            ..ConversationRules::default()
        };
        let tilted = reply_with_rules(
            &model,
            &rules,
            &c,
            &MessageFacts::default(),
            &Before::default(),
            &s,
            at(),
        );
        assert_eq!(tilted.asked, Some(last));

        c.facts.zip_code = Some(crate::domain::conversation::ZipCode::parse("11215").expect("zip"));
        c.facts.borough = Some(crate::domain::facts::Borough::Brooklyn);
        c.facts.contact.phone = Some("+17185550142".into());
        c.facts.contact_consent = Some(true);
        let s = score(&model, &c, at());
        let ranked = ranked_asks(&model, &c, &s, at());
        let (first, second) = (ranked[0], ranked[1]);
        assert!(second.1 > Cents::ZERO, "{ranked:?}");
        // Just enough tilt for the second question to pass the first.
        let needed = ((first.1.0 - second.1.0) * 10_000 / second.1.0.abs().max(1)) as i32 + 1;
        let rules = ConversationRules {
            version: 1,
            asks: vec![AskBias {
                ask: second.0,
                bias_bps: needed,
                asked: 100,
                succeeded: 60,
            }],
            ..ConversationRules::default()
        };
        let plain = reply(
            &model,
            &c,
            &MessageFacts::default(),
            &Before::default(),
            &s,
            at(),
        );
        let tilted = reply_with_rules(
            &model,
            &rules,
            &c,
            &MessageFacts::default(),
            &Before::default(),
            &s,
            at(),
        );
        assert_eq!(plain.asked, Some(first.0));
        assert_eq!(
            tilted.asked,
            Some(second.0),
            "{:?} {:?}",
            ranked,
            tilted.next_questions
        );
        assert_eq!(tilted.next_questions[0], second.0.question());
        let unchanged = reply_with_rules(
            &model,
            &ConversationRules::default(),
            &c,
            &MessageFacts::default(),
            &Before::default(),
            &s,
            at(),
        );
        assert_eq!(unchanged, plain, "version 0 is the agent as it is");
    }

    #[test]
    fn given_favoured_recommendations_then_they_move_at_most_the_shift() {
        let rules = ConversationRules {
            version: 1,
            recommendations: vec![RecommendationBias {
                text: "d".into(),
                bias_bps: 2_500,
                shown: 100,
                succeeded: 60,
            }],
            ..ConversationRules::default()
        };
        let texts: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        assert_eq!(
            rules.reorder_recommendations(texts.clone(), 2),
            ["a", "d", "b", "c"]
        );
        assert_eq!(rules.reorder_recommendations(texts.clone(), 0), texts);
        assert_eq!(
            ConversationRules::default().reorder_recommendations(texts.clone(), 2),
            texts
        );
    }
}

//! What the agent says about each topic homeowners raise (cost, payback, roofs, timing,
//! winter, boards, landmarks…), kept as data with its sources in `data/answers.json`.
//! The file is embedded at build time, parsed and checked once: every topic has an answer.
//! Incentive sentences are not in it: they come from the dated incentive table.

use super::facts::Topic;
use serde::Deserialize;
use std::sync::LazyLock;

const ANSWERS_JSON: &str = include_str!("../../data/answers.json");

static ANSWERS: LazyLock<Result<Answers, AnswersError>> =
    LazyLock::new(|| Answers::parse(ANSWERS_JSON));

#[derive(Debug, thiserror::Error)]
pub enum AnswersError {
    #[error("not valid JSON for the answer table: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

/// The embedded answer table, or why it could not be read.
pub fn try_answers() -> Result<&'static Answers, &'static AnswersError> {
    ANSWERS.as_ref()
}

/// The embedded answer table. A process that ran `domain::init()` has it.
pub fn answers() -> &'static Answers {
    try_answers().unwrap_or_else(|e| panic!("data/answers.json: {e}"))
}

/// One topic's sentences.
#[derive(Debug, Clone, Deserialize)]
pub struct TopicAnswer {
    pub topic: Topic,
    /// Said the first time the topic comes up.
    pub answer: String,
    /// Said instead of `answer` when the bill is known (placeholders filled by the agent).
    #[serde(default)]
    pub personal: Option<String>,
    /// Said when the topic comes up again in the same chat.
    pub again: String,
    pub sources: Vec<String>,
    pub confidence: String,
}

/// The incentive figures the payback estimate uses, and which incentive ids they belong to
/// (each counted only while the incentive table says it is in effect).
#[derive(Debug, Clone, Deserialize)]
pub struct PaybackRule {
    pub state_credit_id: String,
    pub state_credit_percent: u32,
    pub state_credit_cap_dollars: u32,
    pub city_abatement_id: String,
    pub city_abatement_percent: u32,
}

/// The bill the cost answer illustrates with before the homeowner gives theirs.
#[derive(Debug, Clone, Deserialize)]
pub struct TypicalBill {
    pub dollars: u32,
}

#[derive(Debug, Deserialize)]
struct AnswersFile {
    typical_bill: TypicalBill,
    payback: PaybackRule,
    topics: Vec<TopicAnswer>,
    renters_buying: String,
    ended_incentive: String,
}

#[derive(Debug)]
pub struct Answers {
    /// Indexed by `Topic as usize`.
    by_topic: Vec<TopicAnswer>,
    pub payback: PaybackRule,
    pub typical_bill: TypicalBill,
    /// Told to a renter who is buying a home: when to come back.
    pub renters_buying: String,
    /// "The {name} ended for systems installed after {date}."
    pub ended_incentive: String,
}

impl Answers {
    pub fn parse(json: &str) -> Result<Answers, AnswersError> {
        let file: AnswersFile = serde_json::from_str(json)?;
        let mut by_topic = Vec::with_capacity(Topic::ALL.len());
        for topic in Topic::ALL {
            let mut entries = file.topics.iter().filter(|a| a.topic == topic);
            let entry = entries.next().ok_or_else(|| {
                AnswersError::Invalid(format!("no answer for topic {}", topic.as_str()))
            })?;
            if entries.next().is_some() {
                return Err(AnswersError::Invalid(format!(
                    "topic {} answered twice",
                    topic.as_str()
                )));
            }
            if entry.answer.trim().is_empty() || entry.again.trim().is_empty() {
                return Err(AnswersError::Invalid(format!(
                    "topic {}: empty sentence",
                    topic.as_str()
                )));
            }
            if entry.sources.is_empty() {
                return Err(AnswersError::Invalid(format!(
                    "topic {}: no source",
                    topic.as_str()
                )));
            }
            by_topic.push(entry.clone());
        }
        if file.payback.state_credit_percent > 100 || file.payback.city_abatement_percent > 100 {
            return Err(AnswersError::Invalid(
                "payback: a percentage above 100".into(),
            ));
        }
        Ok(Answers {
            by_topic,
            payback: file.payback,
            typical_bill: file.typical_bill,
            renters_buying: file.renters_buying,
            ended_incentive: file.ended_incentive,
        })
    }

    pub fn topic(&self, topic: Topic) -> &TopicAnswer {
        &self.by_topic[topic as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_embedded_table_when_parsed_then_every_topic_has_a_sourced_answer() {
        let a = try_answers().expect("data/answers.json loads");
        for topic in Topic::ALL {
            let entry = a.topic(topic);
            assert_eq!(entry.topic, topic);
            assert!(!entry.sources.is_empty(), "{topic:?}");
            assert_ne!(entry.answer, entry.again, "{topic:?}");
        }
    }

    #[test]
    fn given_a_table_missing_a_topic_when_parsed_then_the_error_names_it() {
        let json = r#"{"typical_bill":{"dollars":200},"payback":{"state_credit_id":"a","state_credit_percent":25,
            "state_credit_cap_dollars":5000,"city_abatement_id":"b","city_abatement_percent":30},
            "topics":[],"renters_buying":"x","ended_incentive":"y"}"#;
        let err = Answers::parse(json).expect_err("no topics");
        assert!(err.to_string().contains("cost"), "{err}");
    }
}

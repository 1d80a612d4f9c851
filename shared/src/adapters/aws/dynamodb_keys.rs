//! The kinds of item each table holds, told apart by their partition keys: what the IAM
//! policies' `dynamodb:LeadingKeys` conditions name. Each kind's example key is built by
//! the same function the adapter writes it with, so a policy checked against these
//! examples (`tests/tests/infra_sync.rs`) follows the code when a key changes.

use super::{dynamodb, dynamodb_feedback, dynamodb_jobs, dynamodb_sales};
use crate::domain::analytics;
use crate::domain::buyer::BuyerId;
use crate::domain::conversation::SessionId;
use crate::domain::feedback::tally;
use crate::usecases::jobs::{Job, KPI_RECORDS, MODEL_RECORDS, run_kind};

/// A table of the DynamoDB store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Conversations,
    Models,
    Leads,
    Buyers,
    Ledger,
    Feedback,
    Metrics,
    Jobs,
}

/// A kind of item, by the shape of its partition key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyFamily {
    /// A conversation: the session id the chat frontend chose.
    Session,
    /// A stored scoring-model version.
    ModelVersion,
    /// The pointer to the scoring model in force.
    ModelPointer,
    /// A lead's record (`lead_<id>`).
    LeadRecord,
    /// A contact claim of the de-duplication window (`contact#<hmac>`).
    ContactClaim,
    /// A buyer's terms, webhook URL and signing secret (`profile`).
    BuyerProfile,
    /// A buyer's day and month counters and its delivery health (`<buyer id>`).
    BuyerCounters,
    /// The sales team's audit of changes (`audit`).
    AuditEntry,
    /// A ledger line, under its lead.
    LedgerLine,
    /// A buyer's feedback on a lead (`feedback#<lead>`).
    FeedbackRecord,
    /// A feedback message id, kept for replays (`message#<buyer>#<id>`).
    FeedbackMessage,
    /// A feedback counter (`tally#…`).
    FeedbackTally,
    /// A buyer's statement copy of a month (`month#<buyer>#<month>`).
    FeedbackMonth,
    /// The scoring model's training examples of a day (`training#<day>`).
    TrainingExamples,
    /// A day's counter shard (`<day>#s<NN>`).
    CounterShard,
    /// A finished day's sealed totals (`<day>#all`).
    SealedDay,
    /// A scheduled job's window claim (`claim#<job>`).
    JobClaim,
    /// A scheduled job's run summary (`record#run#<job>`).
    RunRecord,
    /// A scoring-model version's record, learned or loaded (`record#model`).
    ModelRecord,
    /// A KPI check (`record#kpi`).
    KpiRecord,
    /// A routing update: buyer stats, the bid prices' lead flow (`record#routing`).
    RoutingRecord,
    /// The conversation rules (`record#rules`).
    RulesRecord,
    /// The pricing experiments in force (`record#experiments`).
    ExperimentsRecord,
    /// A routed lead's arrival on its New York day (`record#flow#<day>`).
    ArrivalRecord,
}

impl KeyFamily {
    pub const ALL: [KeyFamily; 24] = [
        KeyFamily::Session,
        KeyFamily::ModelVersion,
        KeyFamily::ModelPointer,
        KeyFamily::LeadRecord,
        KeyFamily::ContactClaim,
        KeyFamily::BuyerProfile,
        KeyFamily::BuyerCounters,
        KeyFamily::AuditEntry,
        KeyFamily::LedgerLine,
        KeyFamily::FeedbackRecord,
        KeyFamily::FeedbackMessage,
        KeyFamily::FeedbackTally,
        KeyFamily::FeedbackMonth,
        KeyFamily::TrainingExamples,
        KeyFamily::CounterShard,
        KeyFamily::SealedDay,
        KeyFamily::JobClaim,
        KeyFamily::RunRecord,
        KeyFamily::ModelRecord,
        KeyFamily::KpiRecord,
        KeyFamily::RoutingRecord,
        KeyFamily::RulesRecord,
        KeyFamily::ExperimentsRecord,
        KeyFamily::ArrivalRecord,
    ];

    pub fn table(self) -> Table {
        match self {
            KeyFamily::Session => Table::Conversations,
            KeyFamily::ModelVersion | KeyFamily::ModelPointer => Table::Models,
            KeyFamily::LeadRecord | KeyFamily::ContactClaim => Table::Leads,
            KeyFamily::BuyerProfile | KeyFamily::BuyerCounters | KeyFamily::AuditEntry => {
                Table::Buyers
            }
            KeyFamily::LedgerLine => Table::Ledger,
            KeyFamily::FeedbackRecord
            | KeyFamily::FeedbackMessage
            | KeyFamily::FeedbackTally
            | KeyFamily::FeedbackMonth
            | KeyFamily::TrainingExamples => Table::Feedback,
            KeyFamily::CounterShard | KeyFamily::SealedDay => Table::Metrics,
            KeyFamily::JobClaim
            | KeyFamily::RunRecord
            | KeyFamily::ModelRecord
            | KeyFamily::KpiRecord
            | KeyFamily::RoutingRecord
            | KeyFamily::RulesRecord
            | KeyFamily::ExperimentsRecord
            | KeyFamily::ArrivalRecord => Table::Jobs,
        }
    }

    /// Partition keys of this kind, as the adapters write them (every job's claim and run
    /// record, both ends of the counter shards).
    pub fn examples(self) -> Vec<String> {
        let session = SessionId::parse("chat_1234567890")
            .unwrap_or_else(|_| unreachable!("a valid session id"));
        let lead = crate::contracts::lead_id_for(&session);
        let buyer =
            BuyerId::parse("solar_direct-2").unwrap_or_else(|_| unreachable!("a valid buyer id"));
        let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 2)
            .unwrap_or_else(|| unreachable!("a valid date"));
        let one = |key: String| vec![key];
        match self {
            KeyFamily::Session => one(session.as_str().to_owned()),
            KeyFamily::ModelVersion => one(dynamodb::SCORING.to_owned()),
            KeyFamily::ModelPointer => one(dynamodb::SCORING_CURRENT.to_owned()),
            KeyFamily::LeadRecord | KeyFamily::LedgerLine => one(lead),
            KeyFamily::ContactClaim => one(dynamodb_sales::claim_key(
                "3f9a0c1e5b7d2a4c6e8f0a1b3c5d7e9f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d",
            )),
            KeyFamily::BuyerProfile => one(dynamodb_sales::PROFILE.to_owned()),
            KeyFamily::BuyerCounters => one(buyer.as_str().to_owned()),
            KeyFamily::AuditEntry => one(dynamodb_sales::AUDIT.to_owned()),
            KeyFamily::FeedbackRecord => one(dynamodb_feedback::record_pk(&lead)),
            KeyFamily::FeedbackMessage => one(dynamodb_feedback::message_pk(&buyer, "msg_2xK9")),
            KeyFamily::FeedbackTally => vec![
                dynamodb_feedback::tally_pk(&tally::buyer(&buyer)),
                dynamodb_feedback::tally_pk(&tally::reasons_by_buyer(&buyer)),
            ],
            KeyFamily::FeedbackMonth => one(dynamodb_feedback::month_pk(&buyer, "2026-06")),
            KeyFamily::TrainingExamples => one(dynamodb_feedback::training_pk(day)),
            KeyFamily::CounterShard => vec![
                analytics::shard_key(day, 0),
                analytics::shard_key(day, analytics::SHARDS - 1),
            ],
            KeyFamily::SealedDay => one(analytics::sealed_key(day)),
            KeyFamily::JobClaim => Job::ALL
                .iter()
                .map(|j| dynamodb_jobs::claim_pk(j.name()))
                .collect(),
            KeyFamily::RunRecord => Job::ALL
                .iter()
                .map(|j| dynamodb_jobs::record_pk(&run_kind(*j)))
                .collect(),
            KeyFamily::ModelRecord => one(dynamodb_jobs::record_pk(MODEL_RECORDS)),
            KeyFamily::KpiRecord => one(dynamodb_jobs::record_pk(KPI_RECORDS)),
            KeyFamily::RoutingRecord => {
                one(dynamodb_jobs::record_pk(crate::artefacts::ROUTING_RECORDS))
            }
            KeyFamily::RulesRecord => {
                one(dynamodb_jobs::record_pk(crate::artefacts::RULES_RECORDS))
            }
            KeyFamily::ExperimentsRecord => one(dynamodb_jobs::record_pk(
                crate::artefacts::EXPERIMENT_RECORDS,
            )),
            KeyFamily::ArrivalRecord => one(dynamodb_jobs::record_pk(
                &crate::artefacts::arrival_kind(day),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_every_key_family_then_its_examples_are_unlike_every_other_familys() {
        let mut seen = std::collections::HashMap::new();
        for family in KeyFamily::ALL {
            let examples = family.examples();
            assert!(!examples.is_empty(), "{family:?}");
            for key in examples {
                if let Some(other) = seen.insert((family.table(), key.clone()), family) {
                    assert_eq!(other, family, "{key} is both {other:?} and {family:?}");
                }
            }
        }
    }
}

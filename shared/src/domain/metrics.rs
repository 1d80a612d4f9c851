//! Per-conversation revenue metrics and the recommendations the chat operator sees.

use super::conversation::Conversation;
use super::facts::{Objection, PropertyType, TechnicalTopic};
use super::money::{Cents, Usd};
use super::scoring::{Blocker, LeadScore, QualityTier};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConversationMetrics {
    pub duration_minutes: f64,
    pub revenue_per_minute: Usd,
    /// Share of technical topics the homeowner raised, 0..=1.
    #[schema(minimum = 0, maximum = 1)]
    pub technical_engagement: f64,
    pub questions_asked: u32,
    pub turns: u32,
}

pub fn metrics(c: &Conversation, s: &LeadScore) -> ConversationMetrics {
    let seconds = c.duration_seconds();
    // A conversation under a minute counts as one minute, so early turns don't explode.
    let minutes_for_rate = (seconds.max(60) + 30) / 60;
    let revenue_per_minute = Usd(Cents(s.revenue_potential.0 / minutes_for_rate.max(1)));
    ConversationMetrics {
        duration_minutes: (seconds as f64 / 6.0).round() / 10.0,
        revenue_per_minute,
        technical_engagement: c.facts.technical_topics.len() as f64
            / TechnicalTopic::ALL.len() as f64,
        questions_asked: c.questions_asked,
        turns: c.turns,
    }
}

/// Conversation rules: what the agent (or a human watching) should do next to raise the
/// lead's value. Thresholds follow the guide: engagement, urgency, objections, gaps.
pub fn recommendations(
    c: &Conversation,
    s: &LeadScore,
    urgency_claim: Option<&str>,
) -> Vec<String> {
    let f = &c.facts;
    let mut out = Vec::new();
    if s.blockers.contains(&Blocker::Renter) {
        out.push("Renter: not sellable; offer community solar and close politely".to_owned());
        return out;
    }
    if s.blockers.contains(&Blocker::OutsideNyc) {
        out.push("Outside NYC: not sellable; close politely".to_owned());
        return out;
    }
    for (blocker, text) in [
        (
            Blocker::HomeownerUnknown,
            "Fill qualification gap: confirm home ownership",
        ),
        (
            Blocker::BillUnknown,
            "Fill qualification gap: ask for the monthly electric bill",
        ),
        (
            Blocker::ZipUnknown,
            "Fill qualification gap: ask for the ZIP code",
        ),
        (
            Blocker::ContactMissing,
            "Collect a phone number or email to make the lead deliverable",
        ),
        (
            Blocker::ConsentMissing,
            "Ask for consent to share details with one installer",
        ),
    ] {
        if s.blockers.contains(&blocker) {
            out.push(text.to_owned());
        }
    }
    if c.turns >= 3 && f.technical_topics.is_empty() {
        out.push(
            "Increase engagement: explain net metering or show the savings estimate".to_owned(),
        );
    }
    if s.tier >= QualityTier::Standard && f.timeline.is_none() {
        match urgency_claim {
            Some(claim) => out.push(format!("Create urgency with a dated incentive: {claim}")),
            None => out.push("Create urgency: ask about the installation timeline".to_owned()),
        }
    }
    for o in &f.objections_open {
        out.push(
            match o {
                Objection::Cost => {
                    "Handle the cost objection with $0-down financing and current incentives"
                }
                Objection::Roof => {
                    "Handle the roof objection: offer a roof assessment with the install"
                }
                Objection::Aesthetics => {
                    "Handle the looks objection: all-black, low-profile panels"
                }
                Objection::Moving => {
                    "Handle the moving objection: resale value and transferable leases"
                }
                Objection::Trust => {
                    "Handle the trust objection: licensed installers, no obligation"
                }
            }
            .to_owned(),
        );
    }
    if f.property_type == Some(PropertyType::Coop) {
        out.push("Discuss the co-op board approval process for credibility".to_owned());
    }
    if f.technical_topics.len() >= 3 && s.tier >= QualityTier::Standard {
        out.push(
            "High technical engagement: route to a premium buyer with a technical sales team"
                .to_owned(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::conversation::SessionId;
    use crate::domain::scoring::{ScoringModel, score};
    use chrono::{TimeZone, Utc};

    #[test]
    fn given_a_new_conversation_then_metrics_are_finite_and_gaps_are_recommended() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 3, 15, 0, 0)
            .single()
            .expect("valid");
        let mut c = Conversation::new(SessionId::parse("m").expect("id"), now);
        c.last_message_at = now + chrono::Duration::seconds(210);
        c.facts.technical_topics.insert(TechnicalTopic::Batteries);
        let s = score(&ScoringModel::default(), &c, c.last_message_at);
        let m = metrics(&c, &s);
        assert_eq!(m.duration_minutes, 3.5);
        assert!((m.technical_engagement - 0.125).abs() < 1e-9);
        let r = recommendations(&c, &s, None);
        assert!(r.iter().any(|x| x.contains("ZIP")));
        assert!(r.iter().any(|x| x.contains("ownership")));
    }
}

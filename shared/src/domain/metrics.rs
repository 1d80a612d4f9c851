//! Per-conversation revenue metrics and the recommendations the chat operator sees.

use super::conversation::Conversation;
use super::facts::{Objection, PropertyType, TechnicalTopic};
use super::money::{Cents, Usd};
use super::scoring::{Blocker, LeadScore, QualityTier};
use super::targets::Targets;
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
    // Per exact minute ($275 over 3.5 minutes is $78.57); a conversation under a minute
    // counts as one minute, so early turns don't explode.
    let revenue_per_minute = Usd(s
        .revenue_potential
        .checked_mul_ratio(60, seconds.max(60))
        .unwrap_or_default());
    ConversationMetrics {
        duration_minutes: (seconds as f64 / 6.0).round() / 10.0,
        revenue_per_minute,
        technical_engagement: c.facts.technical_topics.len() as f64
            / TechnicalTopic::ALL.len() as f64,
        questions_asked: c.questions_asked,
        turns: c.turns,
    }
}

/// Expected revenue per hour of chat, once the conversation has lasted `min_seconds`
/// (shorter ones say nothing yet about the rate).
pub fn expected_revenue_per_hour(
    c: &Conversation,
    s: &LeadScore,
    min_seconds: u32,
) -> Option<Cents> {
    let seconds = c.duration_seconds();
    if seconds <= 0 || seconds < i64::from(min_seconds) {
        return None;
    }
    s.expected_revenue().checked_mul_ratio(3_600, seconds)
}

/// Conversation rules: what the agent (or a human watching) should do next to raise the
/// lead's value. Thresholds follow the guide: engagement, urgency, objections, gaps, and
/// the business targets (average lead value, revenue per hour, conversation length).
pub fn recommendations(
    c: &Conversation,
    s: &LeadScore,
    urgency_claim: Option<&str>,
    targets: &Targets,
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
    out.extend(target_gaps(c, s, targets));
    out
}

fn target_gaps(c: &Conversation, s: &LeadScore, targets: &Targets) -> Vec<String> {
    let mut out = Vec::new();
    // An unqualified lead is worth nothing yet; the qualification gaps above say why.
    if s.tier > QualityTier::Unqualified && s.revenue_potential < targets.avg_lead_value {
        out.push(format!(
            "Lead value {} is below the {} target average: confirm timeline, decision maker and financing to reach a higher tier",
            s.revenue_potential, targets.avg_lead_value
        ));
    }
    if s.sellable() {
        return out;
    }
    if let Some(per_hour) = expected_revenue_per_hour(c, s, targets.min_conversation_seconds)
        && per_hour < targets.revenue_per_hour
    {
        out.push(format!(
            "Expected revenue {per_hour} per hour of chat is below the {} target: ask for contact details and consent",
            targets.revenue_per_hour
        ));
    }
    if c.duration_seconds() > i64::from(targets.max_conversation_seconds) {
        out.push(format!(
            "Conversation past {} minutes without a sellable lead: collect contact details or close politely",
            targets.max_conversation_seconds / 60
        ));
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
        // AND revenue per minute divides by the exact 3.5 minutes (the guide's 78.6 for
        // $275), not by whole minutes
        let guide = LeadScore {
            revenue_potential: Cents(27_500),
            ..s.clone()
        };
        assert_eq!(metrics(&c, &guide).revenue_per_minute, Usd(Cents(7_857)));
        assert!((m.technical_engagement - 0.125).abs() < 1e-9);
        let r = recommendations(&c, &s, None, &Targets::default());
        assert!(r.iter().any(|x| x.contains("ZIP")));
        assert!(r.iter().any(|x| x.contains("ownership")));
    }

    fn basic_lead(minutes: i64) -> (Conversation, LeadScore) {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 3, 15, 0, 0)
            .single()
            .expect("valid");
        let mut c = Conversation::new(SessionId::parse("t").expect("id"), now);
        c.last_message_at = now + chrono::Duration::minutes(minutes);
        let mut s = score(&ScoringModel::default(), &c, c.last_message_at);
        s.tier = QualityTier::Basic;
        s.revenue_potential = Cents(8_250);
        s.conversion_probability = 0.5;
        s.blockers = vec![Blocker::ContactMissing];
        (c, s)
    }

    #[test]
    fn given_a_lead_below_the_target_value_then_the_figure_and_the_target_are_named() {
        let (c, s) = basic_lead(1);
        let r = recommendations(&c, &s, None, &Targets::default());
        assert!(
            r.iter()
                .any(|x| x.contains("$82.50") && x.contains("$150.00")),
            "{r:?}"
        );
        let low = Targets {
            avg_lead_value: Cents::from_dollars(80),
            ..Targets::default()
        };
        let r = recommendations(&c, &s, None, &low);
        assert!(!r.iter().any(|x| x.contains("target average")), "{r:?}");
    }

    #[test]
    fn given_a_slow_conversation_then_revenue_per_hour_is_compared_with_the_target() {
        // $41.25 expected over 100 minutes is $24.75 an hour, under the $30 target.
        let (c, s) = basic_lead(100);
        assert_eq!(expected_revenue_per_hour(&c, &s, 300), Some(Cents(2_475)));
        let r = recommendations(&c, &s, None, &Targets::default());
        assert!(
            r.iter()
                .any(|x| x.contains("$24.75 per hour") && x.contains("$30.00")),
            "{r:?}"
        );
        assert!(r.iter().any(|x| x.contains("past 30 minutes")), "{r:?}");
        // Under the minimum duration the rate is not judged yet.
        let (c, s) = basic_lead(2);
        assert_eq!(expected_revenue_per_hour(&c, &s, 300), None);
        let r = recommendations(&c, &s, None, &Targets::default());
        assert!(!r.iter().any(|x| x.contains("per hour")), "{r:?}");
    }
}

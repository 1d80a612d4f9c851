//! A conversation's state per session: the facts gathered so far and how the chat went.

use super::facts::{
    Ask, Borough, CreditSignal, DecisionMaker, Financing, MessageFacts, Objection, PropertyType,
    Sentiment, TechnicalTopic, Timeline,
};
use super::market::market;
use super::money::Cents;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How many revenue-potential points a conversation keeps (one per turn, newest last).
const TRAIL_LEN: usize = 12;

/// A chat session id as sent by the frontend: 1–128 characters of `[A-Za-z0-9_.:-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    pub fn parse(raw: &str) -> Result<SessionId, String> {
        if raw.is_empty() || raw.len() > 128 {
            return Err("session_id must be 1 to 128 characters".into());
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
        {
            return Err("session_id may contain only letters, digits and _ - . :".into());
        }
        Ok(SessionId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Proof that a request comes from whoever started the session: 256 random bits, given
/// once in the session's first reply and kept by the server only as a SHA-256 hash, so a
/// stolen table holds no usable token. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// Every token starts with this (then 43 base64url characters).
    pub const PREFIX: &'static str = "st_";

    /// A token from 32 random bytes (the caller draws them from the OS).
    pub fn from_random(bytes: [u8; 32]) -> SessionToken {
        use base64::Engine;
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        SessionToken(format!("{}{text}", Self::PREFIX))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps: the token's SHA-256, base64url.
    pub fn hash(&self) -> String {
        token_hash(&self.0)
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

fn token_hash(text: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Whether `presented` is the token whose hash is `stored`: the hashes are compared in
/// time that does not depend on where they differ.
pub fn token_matches(stored: &str, presented: &str) -> bool {
    super::same_secret(stored.as_bytes(), token_hash(presented).as_bytes())
}

/// A five-digit US ZIP code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ZipCode(String);

impl ZipCode {
    pub fn parse(raw: &str) -> Result<ZipCode, String> {
        let raw = raw.trim();
        if raw.len() == 5 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(ZipCode(raw.to_owned()))
        } else {
            Err("zip_code must be exactly 5 digits".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_nyc(&self) -> bool {
        market().zip(&self.0).is_some()
    }
}

/// Monthly electric bills the system accepts: $1 to $20,000.
pub const MIN_MONTHLY_BILL: Cents = Cents(100);
pub const MAX_MONTHLY_BILL: Cents = Cents(2_000_000);

pub fn plausible_bill(bill: Cents) -> bool {
    (MIN_MONTHLY_BILL..=MAX_MONTHLY_BILL).contains(&bill)
}

/// Facts the chat frontend already holds, validated at the edge before they get here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextHints {
    pub homeowner: Option<bool>,
    pub monthly_bill: Option<Cents>,
    pub zip_code: Option<ZipCode>,
    pub borough: Option<Borough>,
    pub neighborhood: Option<String>,
    pub property_type: Option<PropertyType>,
}

/// Personal contact details. Stored with the lead, never logged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Contact {
    pub fn reachable(&self) -> bool {
        self.phone.is_some() || self.email.is_some()
    }
}

/// Everything understood about the homeowner so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadFacts {
    pub homeowner: Option<bool>,
    pub monthly_bill: Option<Cents>,
    pub zip_code: Option<ZipCode>,
    pub borough: Option<Borough>,
    pub neighborhood: Option<String>,
    pub property_type: Option<PropertyType>,
    pub timeline: Option<Timeline>,
    pub decision_maker: Option<DecisionMaker>,
    pub financing: Option<Financing>,
    pub credit: Option<CreditSignal>,
    pub competing_quotes: Option<bool>,
    pub technical_topics: BTreeSet<TechnicalTopic>,
    pub objections_open: BTreeSet<Objection>,
    pub objections_resolved: BTreeSet<Objection>,
    pub contact: Contact,
    pub contact_consent: Option<bool>,
}

impl LeadFacts {
    /// True when the ZIP is known and outside the five boroughs.
    pub fn outside_nyc(&self) -> bool {
        self.zip_code.as_ref().is_some_and(|z| !z.is_nyc())
    }

    pub fn nyc_zip(&self) -> bool {
        self.zip_code.as_ref().is_some_and(ZipCode::is_nyc)
    }

    /// Premium area from the ZIP, else from a named neighbourhood.
    pub fn premium_area(&self) -> bool {
        let m = market();
        if let Some(info) = self.zip_code.as_ref().and_then(|z| m.zip(z.as_str())) {
            return info.premium;
        }
        self.neighborhood
            .as_deref()
            .and_then(|slug| m.neighborhood(slug))
            .is_some_and(|n| n.premium)
    }

    fn apply_hints(&mut self, hints: &ContextHints) {
        // Hints only fill gaps: what the homeowner says in the chat outranks the form.
        fill(&mut self.homeowner, hints.homeowner);
        fill(&mut self.monthly_bill, hints.monthly_bill);
        fill(&mut self.property_type, hints.property_type);
        if self.zip_code.is_none()
            && let Some(zip) = &hints.zip_code
        {
            self.set_zip(zip.clone());
        }
        fill(&mut self.borough, hints.borough);
        if self.neighborhood.is_none() {
            self.neighborhood = hints.neighborhood.clone();
        }
    }

    fn set_zip(&mut self, zip: ZipCode) {
        match market().zip(zip.as_str()) {
            Some(info) => {
                if self.borough != Some(info.borough) {
                    self.neighborhood = None;
                }
                self.borough = Some(info.borough);
                if self.neighborhood.is_none() {
                    self.neighborhood = Some(info.neighborhood.clone());
                }
            }
            None => {
                self.borough = None;
                self.neighborhood = None;
            }
        }
        self.zip_code = Some(zip);
    }

    fn apply_message(&mut self, m: &MessageFacts, last_answered: Option<Objection>) {
        replace(&mut self.homeowner, m.homeowner);
        if let Some(bill) = m.monthly_bill.filter(|b| plausible_bill(*b)) {
            self.monthly_bill = Some(bill);
        }
        if let Some(zip) = m.zip_code.as_deref().and_then(|z| ZipCode::parse(z).ok()) {
            self.set_zip(zip);
        }
        if let Some(place) = m.place {
            let zip_borough = self
                .zip_code
                .as_ref()
                .and_then(|z| market().zip(z.as_str()))
                .map(|i| i.borough);
            // A named place refines the ZIP's borough but never contradicts a known ZIP.
            if zip_borough.is_none_or(|b| b == place.borough) {
                self.borough = Some(place.borough);
                if let Some(n) = place.neighborhood {
                    self.neighborhood = Some(n.to_owned());
                }
            }
        }
        replace(&mut self.property_type, m.property_type);
        replace(&mut self.timeline, m.timeline);
        replace(&mut self.decision_maker, m.decision_maker);
        replace(&mut self.financing, m.financing);
        replace(&mut self.credit, m.credit);
        replace(&mut self.competing_quotes, m.competing_quotes);
        self.technical_topics
            .extend(m.technical_topics.iter().copied());
        for o in &m.objections_raised {
            self.objections_resolved.remove(o);
            self.objections_open.insert(*o);
        }
        let mut resolved: Vec<Objection> = m.objections_resolved.clone();
        if m.acknowledges_answer && m.objections_raised.is_empty() {
            resolved.extend(last_answered);
        }
        for o in resolved {
            if self.objections_open.remove(&o) || !m.objections_raised.contains(&o) {
                self.objections_resolved.insert(o);
            }
        }
        if let Some(name) = &m.name {
            self.contact.name = Some(name.clone());
        }
        if let Some(phone) = &m.phone {
            self.contact.phone = Some(phone.clone());
        }
        if let Some(email) = &m.email {
            self.contact.email = Some(email.clone());
        }
        replace(&mut self.contact_consent, m.contact_consent);
    }
}

impl LeadFacts {
    /// A bare yes/no answers the yes/no question asked last, unless the message itself
    /// already said something about that fact.
    fn apply_answer(&mut self, ask: Ask, yes: bool, message: &MessageFacts) {
        match ask {
            Ask::Homeowner if message.homeowner.is_none() => self.homeowner = Some(yes),
            Ask::Consent if message.contact_consent.is_none() => self.contact_consent = Some(yes),
            Ask::CompetingQuotes if message.competing_quotes.is_none() => {
                self.competing_quotes = Some(yes);
            }
            // "Is anyone else part of the decision?"
            Ask::DecisionMaker if message.decision_maker.is_none() => {
                self.decision_maker = Some(if yes {
                    DecisionMaker::Joint
                } else {
                    DecisionMaker::Sole
                });
            }
            _ => {}
        }
    }
}

/// What the homeowner agreed to, when, and what they were shown: a lead buyer must be able
/// to prove consent before calling or texting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentEvidence {
    pub given_at: DateTime<Utc>,
    /// The homeowner's own words (first 200 characters).
    pub words: String,
    /// The disclosure they answered, when consent answered the agent's consent question.
    pub disclosure: Option<String>,
    /// The buyers the consent question named, by legal name: the lead goes to none other.
    /// Empty when the homeowner agreed without a question naming anyone (to "an
    /// installer"): then any buyer may take it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sellers: Vec<NamedSeller>,
}

impl ConsentEvidence {
    /// Whether this consent lets buyer `buyer_id` contact the homeowner.
    pub fn allows(&self, buyer_id: &str) -> bool {
        self.sellers.is_empty() || self.sellers.iter().any(|s| s.buyer_id == buyer_id)
    }
}

/// A buyer named to the homeowner as one who may contact them: its id and legal name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedSeller {
    pub buyer_id: String,
    pub name: String,
}

/// The homeowner took their consent back: when, and in their words. A withdrawn lead is
/// never sold, and a buyer that already has it is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentWithdrawal {
    pub at: DateTime<Utc>,
    /// The homeowner's own words (first 200 characters).
    pub words: String,
}

fn is_zero_u8(n: &u8) -> bool {
    *n == 0
}

fn is_zero_u16(n: &u16) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn fill<T: Copy>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

fn replace<T: Copy>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentimentTally {
    pub positive: u32,
    pub neutral: u32,
    pub negative: u32,
}

impl SentimentTally {
    /// −1.0 (all negative) … 1.0 (all positive); 0.0 with no signal.
    pub fn balance(&self) -> f64 {
        let n = self.positive + self.neutral + self.negative;
        if n == 0 {
            return 0.0;
        }
        (f64::from(self.positive) - f64::from(self.negative)) / f64::from(n)
    }
}

/// Revenue potential after one turn, for "revenue potential over time".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrailPoint {
    pub turn: u32,
    pub at: DateTime<Utc>,
    pub score: u8,
    pub revenue_potential: Cents,
}

/// The server-side state of one chat session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub session_id: SessionId,
    pub facts: LeadFacts,
    pub turns: u32,
    pub questions_asked: u32,
    pub sentiment: SentimentTally,
    pub started_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    /// The objection the agent answered last; a plain "makes sense" resolves it.
    pub last_answered_objection: Option<Objection>,
    /// The fact the agent asked for last; a bare "yes"/"no" answers it.
    #[serde(default)]
    pub last_ask: Option<Ask>,
    /// The questions asked before the lead was queued, oldest first (at most
    /// [`ASKED_KEPT`]): what the conversation-rules job learns from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asked: Vec<Ask>,
    /// The recommendations shown before the lead was queued, by key
    /// (`conversation_rules::recommendation_key`), first shown first, at most
    /// [`RECOMMENDED_KEPT`]: the conversation-rules job learns which advice preceded leads
    /// buyers kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recommended: Vec<String>,
    /// The place the agent last talked about, so it isn't praised twice.
    #[serde(default)]
    pub greeted_place: Option<String>,
    /// How many turns in a row the agent has asked for `last_ask`: the second time it asks
    /// in other words, after that it leaves the fact for later.
    #[serde(default, skip_serializing_if = "is_zero_u8")]
    pub ask_streak: u8,
    /// Topics already answered in this chat (bit `Topic as usize`): asked again, the agent
    /// says something new instead of repeating itself.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub topics_answered: u32,
    /// The chat has run past `MAX_CONVERSATION_DURATION` without a sellable lead: the
    /// agent only asks for what a sale still needs (ownership, ZIP, bill, contact,
    /// consent), no longer for the facts that only raise its value.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub past_max_duration: bool,
    /// The homeowner said they are buying a home (told when to come back).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub buying_home: bool,
    /// Knowledge-base answers said in this chat (entry ids of `data/questions.json`, at
    /// most [`ANSWERED_KEPT`]): said once, unless asked again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answered_questions: Vec<String>,
    /// Boroughs whose market facts the agent has told (bit `Borough as u8`): told once.
    #[serde(default, skip_serializing_if = "is_zero_u8")]
    pub boroughs_told: u8,
    /// The system size the agent last quoted, in watts (0: none yet): quoted again only
    /// when a new bill or home type changes it.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub sized_watts: u32,
    /// Facts the homeowner asked to hold back for now (bit per [`Ask`], see
    /// `Ask::bit`): asked for only once nothing else is left.
    #[serde(default, skip_serializing_if = "is_zero_u16")]
    pub held_back: u16,
    /// A fingerprint of the last reply, so that the next one never repeats it word for word.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub last_reply_fingerprint: u32,
    /// Proof of the homeowner's consent to be contacted by an installer.
    #[serde(default)]
    pub consent: Option<ConsentEvidence>,
    /// The buyers the consent question names, when the agent asks it: those that could
    /// take this lead now (at most three). Kept so that a "yes" next turn records the
    /// names it answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consent_sellers: Vec<NamedSeller>,
    pub lead_id: Option<String>,
    /// Set once the lead has been handed to the routing queue.
    pub lead_queued_at: Option<DateTime<Utc>>,
    /// Set when consent is taken back after the lead was queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_withdrawn: Option<ConsentWithdrawal>,
    /// Set when the homeowner asked for their contact details to be erased (the latest
    /// such request): when, on whose request, which details; none of their values. The
    /// agent asks for contact details and consent no more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_erased: Option<super::erasure::ContactErasure>,
    /// The SHA-256 of the session's token ([`SessionToken`]): every turn after the first
    /// must present the token. Absent only on sessions kept from before tokens existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
    /// The last 12 turns, stored as `[turn, unix_seconds, score, cents]` rows, so that a
    /// long chat with contact details and consent stays within two DynamoDB write units.
    #[serde(with = "compact_trail")]
    pub trail: Vec<TrailPoint>,
    /// Optimistic-concurrency version: the store only accepts a save whose expected
    /// version matches what it holds.
    pub version: u64,
}

/// Questions kept per conversation for the conversation-rules job.
pub const ASKED_KEPT: usize = 12;
/// Knowledge-base answers remembered per conversation.
pub const ANSWERED_KEPT: usize = 16;
/// Recommendation keys kept per conversation for the same job.
pub const RECOMMENDED_KEPT: usize = 8;

impl Conversation {
    /// Records a question asked (the oldest dropped beyond [`ASKED_KEPT`]).
    pub fn record_ask(&mut self, ask: Ask) {
        if self.asked.len() >= ASKED_KEPT {
            self.asked.remove(0);
        }
        self.asked.push(ask);
    }

    /// Records the recommendations shown this turn (by key; each once, at most
    /// [`RECOMMENDED_KEPT`]).
    pub fn record_recommended(&mut self, shown: &[String]) {
        for text in shown {
            let key = crate::domain::learning::conversation_rules::recommendation_key(text);
            if self.recommended.len() >= RECOMMENDED_KEPT {
                break;
            }
            if !self.recommended.contains(&key) {
                self.recommended.push(key);
            }
        }
    }

    pub fn new(session_id: SessionId, now: DateTime<Utc>) -> Conversation {
        Conversation {
            session_id,
            facts: LeadFacts::default(),
            turns: 0,
            questions_asked: 0,
            sentiment: SentimentTally::default(),
            started_at: now,
            last_message_at: now,
            last_answered_objection: None,
            last_ask: None,
            asked: Vec::new(),
            recommended: Vec::new(),
            past_max_duration: false,
            greeted_place: None,
            ask_streak: 0,
            topics_answered: 0,
            buying_home: false,
            answered_questions: Vec::new(),
            boroughs_told: 0,
            sized_watts: 0,
            held_back: 0,
            last_reply_fingerprint: 0,
            consent: None,
            consent_sellers: Vec::new(),
            lead_id: None,
            lead_queued_at: None,
            consent_withdrawn: None,
            contact_erased: None,
            token_hash: None,
            trail: Vec::new(),
            version: 0,
        }
    }

    /// Folds one homeowner message (and the frontend's hints) into the state.
    pub fn absorb(&mut self, message: &MessageFacts, hints: &ContextHints, now: DateTime<Utc>) {
        self.facts.apply_hints(hints);
        self.facts
            .apply_message(message, self.last_answered_objection);
        if message.monthly_bill.is_none()
            && let Some(amount) = message.bare_amount.filter(|a| plausible_bill(*a))
            && (self.last_ask == Some(Ask::Bill)
                || (message.corrects && self.facts.monthly_bill.is_some()))
        {
            self.facts.monthly_bill = Some(amount);
        }
        if let (Some(yes), Some(ask)) = (message.answer, self.last_ask) {
            self.facts.apply_answer(ask, yes, message);
        }
        if message.buying_home {
            self.buying_home = true;
        }
        self.turns = self.turns.saturating_add(1);
        self.questions_asked = self.questions_asked.saturating_add(message.questions_asked);
        match message.sentiment {
            Some(Sentiment::Positive) => self.sentiment.positive += 1,
            Some(Sentiment::Negative) => self.sentiment.negative += 1,
            Some(Sentiment::Neutral) => self.sentiment.neutral += 1,
            None => {}
        }
        if now > self.last_message_at {
            self.last_message_at = now;
        }
    }

    /// Earlier messages the server never saw (a session that starts with history).
    pub fn absorb_history(&mut self, message: &MessageFacts) {
        self.facts.apply_message(message, None);
        self.questions_asked = self.questions_asked.saturating_add(message.questions_asked);
    }

    pub fn duration_seconds(&self) -> i64 {
        (self.last_message_at - self.started_at)
            .num_seconds()
            .max(0)
    }

    pub fn record_trail(&mut self, point: TrailPoint) {
        if self.trail.len() >= TRAIL_LEN {
            self.trail.remove(0);
        }
        self.trail.push(point);
    }
}

mod compact_trail {
    use super::TrailPoint;
    use crate::domain::money::Cents;
    use chrono::DateTime;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    type Row = (u32, i64, u8, i64);

    pub fn serialize<S: Serializer>(trail: &[TrailPoint], s: S) -> Result<S::Ok, S::Error> {
        trail
            .iter()
            .map(|p| (p.turn, p.at.timestamp(), p.score, p.revenue_potential.0))
            .collect::<Vec<Row>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<TrailPoint>, D::Error> {
        Vec::<Row>::deserialize(d)?
            .into_iter()
            .map(|(turn, secs, score, cents)| {
                let at = DateTime::from_timestamp(secs, 0)
                    .ok_or_else(|| serde::de::Error::custom("trail time out of range"))?;
                Ok(TrailPoint {
                    turn,
                    at,
                    score,
                    revenue_potential: Cents(cents),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 4, 15, min, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn ids_and_zips_are_validated() {
        assert!(SessionId::parse("chat_1234567890").is_ok());
        assert!(SessionId::parse("").is_err());
        assert!(SessionId::parse("has space").is_err());
        assert!(SessionId::parse(&"x".repeat(129)).is_err());
        assert!(ZipCode::parse("10021").is_ok());
        assert!(ZipCode::parse("1002").is_err());
        assert!(ZipCode::parse("10021-1234").is_err());
    }

    #[test]
    fn given_a_hint_when_the_homeowner_says_otherwise_then_the_chat_wins() {
        let mut c = Conversation::new(SessionId::parse("s1").expect("id"), at(0));
        let hints = ContextHints {
            homeowner: Some(true),
            ..ContextHints::default()
        };
        c.absorb(&MessageFacts::default(), &hints, at(1));
        assert_eq!(c.facts.homeowner, Some(true));
        let renter = MessageFacts {
            homeowner: Some(false),
            ..MessageFacts::default()
        };
        c.absorb(&renter, &hints, at(2));
        assert_eq!(c.facts.homeowner, Some(false));
        assert_eq!(c.turns, 2);
        assert_eq!(c.duration_seconds(), 120);
    }

    #[test]
    fn given_a_nyc_zip_then_borough_and_neighborhood_follow_it() {
        let mut c = Conversation::new(SessionId::parse("s2").expect("id"), at(0));
        let m = MessageFacts {
            zip_code: Some("11215".into()),
            ..MessageFacts::default()
        };
        c.absorb(&m, &ContextHints::default(), at(1));
        assert_eq!(c.facts.borough, Some(Borough::Brooklyn));
        assert!(c.facts.neighborhood.is_some());
        assert!(c.facts.nyc_zip());
        let outside = MessageFacts {
            zip_code: Some("07030".into()),
            ..MessageFacts::default()
        };
        c.absorb(&outside, &ContextHints::default(), at(2));
        assert!(c.facts.outside_nyc());
        assert_eq!(c.facts.borough, None);
    }

    #[test]
    fn given_an_answered_objection_when_the_homeowner_acknowledges_then_it_is_resolved() {
        let mut c = Conversation::new(SessionId::parse("s3").expect("id"), at(0));
        let raised = MessageFacts {
            objections_raised: vec![Objection::Cost],
            ..MessageFacts::default()
        };
        c.absorb(&raised, &ContextHints::default(), at(1));
        assert!(c.facts.objections_open.contains(&Objection::Cost));
        c.last_answered_objection = Some(Objection::Cost);
        let ack = MessageFacts {
            acknowledges_answer: true,
            ..MessageFacts::default()
        };
        c.absorb(&ack, &ContextHints::default(), at(2));
        assert!(c.facts.objections_open.is_empty());
        assert!(c.facts.objections_resolved.contains(&Objection::Cost));
    }

    #[test]
    fn the_stored_form_round_trips_and_stays_small() {
        let mut c = Conversation::new(SessionId::parse(&"s".repeat(128)).expect("id"), at(0));
        for turn in 1..=60 {
            c.record_trail(TrailPoint {
                turn,
                at: at(turn % 60),
                score: 87,
                revenue_potential: Cents(26_400),
            });
        }
        assert_eq!(c.trail.len(), TRAIL_LEN);
        // The largest realistic state: every fact, full contact details, consent evidence.
        let f = &mut c.facts;
        f.homeowner = Some(true);
        f.monthly_bill = Some(Cents(41_250));
        f.zip_code = Some(ZipCode::parse("11215").expect("zip"));
        f.borough = Some(Borough::Brooklyn);
        f.neighborhood = Some("prospect_lefferts_gardens".into());
        f.property_type = Some(PropertyType::Townhouse);
        f.timeline = Some(Timeline::WithinThreeMonths);
        f.decision_maker = Some(DecisionMaker::Joint);
        f.financing = Some(Financing::LeaseOrPpa);
        f.credit = Some(CreditSignal::Strong);
        f.competing_quotes = Some(true);
        f.technical_topics = TechnicalTopic::ALL.into_iter().collect();
        f.objections_resolved = Objection::ALL.into_iter().collect();
        f.contact = Contact {
            name: Some("Maria Alejandra Lopez-Fitzgerald".into()),
            phone: Some("+17185550142".into()),
            email: Some("maria.alejandra.lopez-fitzgerald@example.com".into()),
        };
        f.contact_consent = Some(true);
        c.consent = Some(ConsentEvidence {
            given_at: at(30),
            words: "w".repeat(200),
            disclosure: Some(
                "May we share your details with one vetted NYC installer so they can contact you with a quote?"
                    .into(),
            ),
            sellers: Vec::new(),
        });
        c.lead_id = Some("lead_0123456789abcdef0123456789abcdef".into());
        c.lead_queued_at = Some(at(31));
        c.last_ask = Some(Ask::Timeline);
        c.greeted_place = Some("prospect_lefferts_gardens".into());
        let json = serde_json::to_string(&c).expect("serialize");
        let back: Conversation = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, c);
        // Item = state + key + version + TTL attribute: under 2 KiB is 2 write units.
        let item_bytes = json.len() + "state".len() + "session_id".len() + 128 + 32;
        assert!(item_bytes < 2_048, "{item_bytes} bytes");

        // After a "delete my data" on a queued lead: no contact details, the withdrawal,
        // and the erasure keeping the consent evidence (a disclosure naming three buyers).
        let mut erased = c;
        erased.facts.contact = Contact::default();
        erased.facts.contact_consent = Some(false);
        erased.consent_withdrawn = Some(ConsentWithdrawal {
            at: at(40),
            words: "w".repeat(200),
        });
        erased.contact_erased = Some(crate::domain::erasure::ContactErasure {
            at: at(40),
            requested_by: crate::domain::erasure::ErasureRequester::Homeowner,
            fields: vec![
                crate::domain::erasure::ContactField::Name,
                crate::domain::erasure::ContactField::Phone,
                crate::domain::erasure::ContactField::Email,
            ],
            consent: erased.consent.take().map(|e| ConsentEvidence {
                disclosure: Some(
                    "May we share your details with Premium Roofs Corp., Direct Power Inc. or Standard Sun LLC (solar installers and their partners serving your area) so one of them can contact you with a quote?"
                        .into(),
                ),
                ..e
            }),
        });
        let json = serde_json::to_string(&erased).expect("serialize");
        let back: Conversation = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, erased);
        // The withdrawal's words and the kept consent evidence (words and disclosure) may
        // take it past two write units: three at most, on the few turns after an erasure.
        let item_bytes = json.len() + "state".len() + "session_id".len() + 128 + 32;
        assert!(item_bytes < 3_072, "erased: {item_bytes} bytes");
    }

    #[test]
    fn given_a_yes_no_question_when_the_homeowner_answers_yes_then_the_fact_is_set() {
        let mut c = Conversation::new(SessionId::parse("s6").expect("id"), at(0));
        c.last_ask = Some(Ask::Consent);
        let yes = MessageFacts {
            answer: Some(true),
            ..MessageFacts::default()
        };
        c.absorb(&yes, &ContextHints::default(), at(1));
        assert_eq!(c.facts.contact_consent, Some(true));
        c.last_ask = Some(Ask::DecisionMaker);
        let no = MessageFacts {
            answer: Some(false),
            ..MessageFacts::default()
        };
        c.absorb(&no, &ContextHints::default(), at(2));
        assert_eq!(c.facts.decision_maker, Some(DecisionMaker::Sole));
        // A yes to a question that is not yes/no changes nothing.
        c.last_ask = Some(Ask::Bill);
        c.absorb(&yes, &ContextHints::default(), at(3));
        assert_eq!(c.facts.monthly_bill, None);
    }

    #[test]
    fn implausible_bills_from_text_are_ignored() {
        let mut c = Conversation::new(SessionId::parse("s4").expect("id"), at(0));
        let m = MessageFacts {
            monthly_bill: Some(Cents::from_dollars(1_000_000_000)),
            ..MessageFacts::default()
        };
        c.absorb(&m, &ContextHints::default(), at(1));
        assert_eq!(c.facts.monthly_bill, None);
    }
}

//! What the system knows about a homeowner: the vocabulary shared by extraction,
//! scoring, the reply agent and the lead profile the chat frontend reads.

use super::money::Cents;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Borough {
    Manhattan,
    Brooklyn,
    Queens,
    Bronx,
    StatenIsland,
}

impl Borough {
    pub const ALL: [Borough; 5] = [
        Borough::Manhattan,
        Borough::Brooklyn,
        Borough::Queens,
        Borough::Bronx,
        Borough::StatenIsland,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Borough::Manhattan => "manhattan",
            Borough::Brooklyn => "brooklyn",
            Borough::Queens => "queens",
            Borough::Bronx => "bronx",
            Borough::StatenIsland => "staten_island",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Borough::Manhattan => "Manhattan",
            Borough::Brooklyn => "Brooklyn",
            Borough::Queens => "Queens",
            Borough::Bronx => "the Bronx",
            Borough::StatenIsland => "Staten Island",
        }
    }

    /// Accepts the snake_case id and the everyday spellings ("Staten Island", "the bronx").
    pub fn parse(text: &str) -> Option<Borough> {
        let norm: String = text
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c == ' ' || c == '-' { '_' } else { c })
            .collect();
        match norm.trim_start_matches("the_") {
            "manhattan" | "new_york" | "new_york_county" => Some(Borough::Manhattan),
            "brooklyn" | "kings" | "kings_county" => Some(Borough::Brooklyn),
            "queens" | "queens_county" => Some(Borough::Queens),
            "bronx" | "bronx_county" => Some(Borough::Bronx),
            "staten_island" | "richmond" | "richmond_county" => Some(Borough::StatenIsland),
            _ => None,
        }
    }
}

impl fmt::Display for Borough {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PropertyType {
    SingleFamily,
    /// Two- to four-family homes.
    MultiFamily,
    /// Townhouses, brownstones and rowhouses.
    Townhouse,
    Condo,
    Coop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Timeline {
    /// Ready now / within a month.
    Immediate,
    WithinThreeMonths,
    WithinSixMonths,
    WithinYear,
    MoreThanYear,
    JustResearching,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionMaker {
    /// Decides alone.
    Sole,
    /// Decides with a spouse/partner/co-owner who is on board or reachable.
    Joint,
    /// Has to convince someone else (parent, spouse who decides, co-op board…).
    Influencer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Financing {
    Cash,
    Loan,
    LeaseOrPpa,
    Undecided,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditSignal {
    /// Good/excellent credit, pre-approved, or high-equity home.
    Strong,
    /// Poor credit, recent bankruptcy, can't get financing.
    Weak,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Objection {
    Cost,
    Roof,
    Aesthetics,
    Moving,
    Trust,
}

impl Objection {
    pub const ALL: [Objection; 5] = [
        Objection::Cost,
        Objection::Roof,
        Objection::Aesthetics,
        Objection::Moving,
        Objection::Trust,
    ];
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TechnicalTopic {
    Inverters,
    Production,
    NetMetering,
    Batteries,
    Warranties,
    Panels,
    Permits,
    Maintenance,
}

impl TechnicalTopic {
    pub const ALL: [TechnicalTopic; 8] = [
        TechnicalTopic::Inverters,
        TechnicalTopic::Production,
        TechnicalTopic::NetMetering,
        TechnicalTopic::Batteries,
        TechnicalTopic::Warranties,
        TechnicalTopic::Panels,
        TechnicalTopic::Permits,
        TechnicalTopic::Maintenance,
    ];
}

/// What a homeowner message asks about or worries about, which the reply must address.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// What a system costs.
    Cost,
    /// Savings, break-even, "is it worth it".
    Payback,
    /// Roof age, condition, flat roofs, shade.
    Roof,
    /// How long installation and the Con Edison hookup take.
    InstallTime,
    /// Winter, snow, cloudy days.
    Winter,
    /// Selling the house or moving.
    Selling,
    /// Co-op and condo boards.
    Board,
    /// Landmarks and historic districts.
    Landmarks,
    /// FDNY roof setbacks.
    FireCode,
    /// Lease vs loan vs cash.
    Financing,
    /// Tax credits, rebates, the property tax abatement.
    Incentives,
    Batteries,
    NetMetering,
    Maintenance,
    Warranties,
    /// Options for renters, community solar.
    Renters,
    Looks,
    Trust,
    Inverters,
    Production,
    Panels,
    Permits,
    /// What happens to their details, and how to have them erased.
    Privacy,
}

impl Topic {
    pub const ALL: [Topic; 23] = [
        Topic::Cost,
        Topic::Payback,
        Topic::Roof,
        Topic::InstallTime,
        Topic::Winter,
        Topic::Selling,
        Topic::Board,
        Topic::Landmarks,
        Topic::FireCode,
        Topic::Financing,
        Topic::Incentives,
        Topic::Batteries,
        Topic::NetMetering,
        Topic::Maintenance,
        Topic::Warranties,
        Topic::Renters,
        Topic::Looks,
        Topic::Trust,
        Topic::Inverters,
        Topic::Production,
        Topic::Panels,
        Topic::Permits,
        Topic::Privacy,
    ];

    /// The snake_case id, as in the data files.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Cost => "cost",
            Topic::Payback => "payback",
            Topic::Roof => "roof",
            Topic::InstallTime => "install_time",
            Topic::Winter => "winter",
            Topic::Selling => "selling",
            Topic::Board => "board",
            Topic::Landmarks => "landmarks",
            Topic::FireCode => "fire_code",
            Topic::Financing => "financing",
            Topic::Incentives => "incentives",
            Topic::Batteries => "batteries",
            Topic::NetMetering => "net_metering",
            Topic::Maintenance => "maintenance",
            Topic::Warranties => "warranties",
            Topic::Renters => "renters",
            Topic::Looks => "looks",
            Topic::Trust => "trust",
            Topic::Inverters => "inverters",
            Topic::Production => "production",
            Topic::Panels => "panels",
            Topic::Permits => "permits",
            Topic::Privacy => "privacy",
        }
    }

    pub fn parse(id: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.as_str() == id)
    }
}

impl From<TechnicalTopic> for Topic {
    fn from(t: TechnicalTopic) -> Topic {
        match t {
            TechnicalTopic::Inverters => Topic::Inverters,
            TechnicalTopic::Production => Topic::Production,
            TechnicalTopic::NetMetering => Topic::NetMetering,
            TechnicalTopic::Batteries => Topic::Batteries,
            TechnicalTopic::Warranties => Topic::Warranties,
            TechnicalTopic::Panels => Topic::Panels,
            TechnicalTopic::Permits => Topic::Permits,
            TechnicalTopic::Maintenance => Topic::Maintenance,
        }
    }
}

impl From<Objection> for Topic {
    fn from(o: Objection) -> Topic {
        match o {
            Objection::Cost => Topic::Cost,
            Objection::Roof => Topic::Roof,
            Objection::Aesthetics => Topic::Looks,
            Objection::Moving => Topic::Selling,
            Objection::Trust => Topic::Trust,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sentiment {
    Positive,
    Neutral,
    Negative,
}

/// Where a place name or ZIP puts the home. `neighborhood` is a slug such as `park_slope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub borough: Borough,
    pub neighborhood: Option<&'static str>,
}

/// Facts found in one message. Every field is what *this* message says; `None` / empty
/// means the message is silent about it. Merging into the conversation is done elsewhere.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageFacts {
    /// `Some(true)` owner, `Some(false)` renter (including "I don't own", "my landlord").
    pub homeowner: Option<bool>,
    pub monthly_bill: Option<Cents>,
    /// Five digits as written; may be outside NYC (the caller decides what that means).
    pub zip_code: Option<String>,
    /// From a borough or neighbourhood name in the text (not from the ZIP).
    pub place: Option<Place>,
    pub property_type: Option<PropertyType>,
    pub timeline: Option<Timeline>,
    pub decision_maker: Option<DecisionMaker>,
    pub financing: Option<Financing>,
    pub credit: Option<CreditSignal>,
    /// `Some(true)` has or is getting other quotes; `Some(false)` says no other quotes.
    pub competing_quotes: Option<bool>,
    pub technical_topics: Vec<TechnicalTopic>,
    /// Everything the message asks or worries about (technical topics and objections
    /// included), in [`Topic::ALL`] order: what the reply must address.
    pub topics: Vec<Topic>,
    /// Says they are buying a home (closing soon, house hunting): a renter to welcome back.
    pub buying_home: bool,
    /// A lone amount with no bill word ("like 350"): the bill when the agent just asked for
    /// it, or when the message corrects a bill already given.
    pub bare_amount: Option<Cents>,
    /// With a `bare_amount`: the message corrects something said before ("sorry, I
    /// meant", "wait", "actually").
    pub corrects: bool,
    /// Number of questions the homeowner asked in this message.
    pub questions_asked: u32,
    /// The knowledge-base questions (`data/questions.json`) the message asks, best first.
    pub known_questions: Vec<super::knowledge::KnownQuestion>,
    pub objections_raised: Vec<Objection>,
    /// Objections this message says are no longer a concern.
    pub objections_resolved: Vec<Objection>,
    /// A generic "that makes sense / good to know" acknowledgement, which resolves the
    /// objection the agent just answered.
    pub acknowledges_answer: bool,
    pub sentiment: Option<Sentiment>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// `Some(true)` agrees to be contacted by installers; `Some(false)` refuses/opts out.
    pub contact_consent: Option<bool>,
    /// Asks for their contact details (their data) to be erased: "delete my data",
    /// "forget me", "borra mis datos". Not when negated ("don't delete my data") or asked
    /// about as a policy ("will you delete my data if I ask?": that asks the `Privacy`
    /// topic).
    pub erase_request: bool,
    /// Thanks the agent ("thanks", "thank you", "gracias").
    pub thanks: bool,
    /// Closes the chat ("bye", "that's all", "have a good day", "hasta luego").
    pub closing: bool,
    /// Facts the homeowner wants to hold back for now ("before I give my number"): not
    /// asked for on this turn, and asked last afterwards.
    pub held_back: Vec<Ask>,
    /// A bare "yes" / "no" (or "sure", "nope"…): what it answers depends on what the agent
    /// asked last.
    pub answer: Option<bool>,
}

/// A fact the agent can ask for. The conversation remembers the last one asked, so that a
/// bare "yes" or "no" can answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ask {
    Homeowner,
    Bill,
    Zip,
    PropertyType,
    Timeline,
    DecisionMaker,
    Financing,
    CompetingQuotes,
    Contact,
    Consent,
}

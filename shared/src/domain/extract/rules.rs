//! Phrase rules: almost every phrase fact comes from one pass of a lazy DFA of all the
//! rules over the normalised text. Per field, earlier rules win; `*Veto` rules remove one candidate
//! value without deciding the field.

use super::automaton;
use super::bill::CORRECTION_RE;
use crate::domain::facts::{
    CreditSignal, DecisionMaker, Financing, MessageFacts, Objection, PropertyType, TechnicalTopic,
    Timeline, Topic as Subject,
};
use regex::{Regex, RegexBuilder};
use regex_automata::nfa::thompson::{self, NFA, pikevm::PikeVM};
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternSet, hybrid};
use std::cell::RefCell;
use std::sync::{LazyLock, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjAct {
    Raise,
    Resolve,
    /// Decides the objection as "not mentioned" (e.g. "move forward" is not moving).
    Block,
}

#[derive(Debug, Clone, Copy)]
enum Act {
    /// `None` decides the field as unknown (e.g. "my parents own it").
    Home(Option<bool>),
    Prop(PropertyType),
    Time(Timeline),
    TimeVeto(Timeline),
    Decide(DecisionMaker),
    Fin(Financing),
    FinVeto(Financing),
    Credit(CreditSignal),
    /// `None` decides the field as unknown ("can I get a quote?" asks *us* for one).
    Quotes(Option<bool>),
    Topic(TechnicalTopic),
    Obj(Objection, ObjAct),
    Ack(bool),
    Consent(bool),
    /// Phrase-level sentiment points, added to the word lexicon's score.
    Sent(i8),
    /// Buying a home, not owning one yet.
    Buying,
    /// The home types named where this rule matches are not the homeowner's (comparisons,
    /// listings, a friend's, a past home, a kind of home asked about); a type named
    /// elsewhere in the message still counts.
    PropVeto,
    /// The message asks or worries about a topic the reply must address.
    Asks(Subject),
    /// Removes one topic ("by this winter" is a date, not a question about winter).
    AsksVeto(Subject),
}

use Act::{
    Ack, Asks, AsksVeto, Buying, Consent, Credit, Decide, Fin, FinVeto, Home, Obj, Prop, PropVeto,
    Quotes, Sent, Time, TimeVeto, Topic,
};
use ObjAct::{Block, Raise, Resolve};
use Objection::{Aesthetics, Cost, Moving, Roof, Trust};

/// Buying a home but not owning one yet: a renter for now, told when to come back.
const BUYING_HOME: &str = r"\bin the process of buying\b|\b(?:i'?m|i am|we'?re|we are) (?:buying|closing on|about to (?:buy|close on)|under contract (?:for|on)) (?:a|an|our|the|my) (?:new |first )?(?:house|home|place|condo|co-?op|brownstone|townhouse|apartment)\b|\b(?:should|will|going to) close (?:in|on|next|this)\b|\bhouse ?-?hunting\b|\b(?:i|we) (?:don'?t|do not) own (?:a (?:house|home) )?yet\b|\bmoving into (?:a|the|our) (?:new )?(?:house|home|place)\b|\bclos(?:e|ing) on (?:our|a|the|my) (?:first |new )?(?:house|home|place|condo|co-?op|brownstone|townhouse)\b";

/// Phrase rules over the normalised text (lowercase, single spaces, ASCII apostrophes).
/// Per field, earlier rules win. Patterns are compiled with Unicode off (ASCII `\b`).
static RULES: &[(Act, &str)] = &[
    (Buying, BUYING_HOME),
    // ---- homeowner -------------------------------------------------------------------
    (
        Home(Some(true)),
        r"\b(?:don'?t|do not) own (?:a|the) (?:house|home)\b[a-z0-9 ,'-]{0,12}\b(?:we|i) own\b",
    ),
    (
        Home(Some(false)),
        r"\b(?:i|we) (?:currently |still |just |only )?rent (?:an?|my|our|the) (?:apartment|apt|place|unit|room|flat|studio)\b|\b(?:i'?m|i am|we'?re|we are) (?:a |just a |currently a |still a )?(?:renters?|tenants?)\b|\b(?:my|our) (?:apartment|apt|place|unit|flat|studio) is (?:a |just a )?rental\b|\b(?:i|we) live in a rental\b|\b(?:i'?m|we'?re|i am|we are) in a rental\b",
    ),
    (
        Home(None),
        r"\b(?:could|can|would|should|if|does|do|will|for) (?:a|any) (?:renter|tenant)\b|\b(?:do|can|could|are|should|would|will|how do|how can|for|most|many|other|some|all|do most|do many|do other) (?:most |many |other |some |all )?(?:renters|tenants|homeowners|home owners|condo owners|co-?op owners|landlords)\b|\b(?:people|someone|those|anyone|folks|somebody) who (?:rent|lease|own)\b",
    ),
    (Home(Some(true)), r"\bnot (?:a |the )?(?:renter|tenant)s?\b"),
    (
        Home(Some(true)),
        r"\b(?:don'?t|do not|dont|no longer|never) rent\b",
    ),
    (Home(Some(true)), r"\b(?:not|no longer|stopped) renting\b"),
    (
        Home(Some(true)),
        r"\brent(?:ing|s)? (?:it |them |(?:the|our|my|a) [a-z]+ (?:[a-z]+ )?)?out\b",
    ),
    (Home(Some(true)), r"\b(?:my|our) (?:tenants?|renters?)\b"),
    (
        Home(Some(true)),
        r"\b(?:have|has|got) (?:a |two |\d )?(?:tenants?|renters?)\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:i'?m|i am|we'?re|we are) (?:the|a) landlord\b",
    ),
    (
        Home(None),
        r"\b(?:my|our|his|her) (?:parents?|mom|mother|dad|father|in-laws|mother ?-?in ?-?law|father ?-?in ?-?law|grandparents?|grandma|grandpa|grandmother|grandfather|family|brother|sister|son|daughter|aunt|uncle|cousin) (?:owns?|is the owner|are the owners|has the house|is on the deed)\b|\bmy (?:parents?|mom|mother|dad|father|in-laws|mother ?-?in ?-?law|father ?-?in ?-?law|grandparents?|grandma|grandpa|grandmother|grandfather|family|brother|sister|son|daughter|aunt|uncle|cousin)\b[a-z0-9 ,'$/-]{0,30}\b(?:she|he|they) (?:owns?|is the owner|are the owners)\b|\bnot the (?:home ?)?owner,? my (?:parents?|mom|mother|dad|father|in-laws|mother ?-?in ?-?law|father ?-?in ?-?law|grandparents?|grandma|grandpa|grandmother|grandfather|family|brother|sister|son|daughter|aunt|uncle|cousin) is\b",
    ),
    (
        Home(None),
        r"\bnot sure (?:if |whether |that )?(?:we|i) (?:own|are the owners?)\b|\b(?:it'?s|its|it is) my (?:parents?|mom|mother|dad|father|in-laws|mother ?-?in ?-?law|father ?-?in ?-?law|grandparents?|grandma|grandpa|grandmother|grandfather|family|brother|sister|son|daughter|aunt|uncle|cousin)'?s?(?: (?:house|home|place|property))?(?:[.!?,]|$)",
    ),
    (
        Home(Some(false)),
        r"\b(?:i'?m|i am|we'?re|we are|currently) leasing (?:my|our|an?|the) (?:apartment|apt|place|unit|room|flat|studio)\b|\blease (?:on )?(?:my|our) (?:apartment|apt|place|unit)\b",
    ),
    (Home(Some(false)), BUYING_HOME),
    (
        Home(Some(false)),
        r"\b(?:i|we) (?:don'?t|do not|dont|didn'?t) own\b",
    ),
    (
        Home(Some(false)),
        r"\b(?:don'?t|do not|dont) own (?:a|the|my|our|this|it|any)\b",
    ),
    (
        Home(Some(false)),
        r"\bnot (?:a |the )?(?:[a-z-]+ )?(?:home ?owner|owner|property owner)s?\b",
    ),
    (
        Home(Some(false)),
        r"\b(?:i|we|i'?m|we'?re|im|i am|we are|currently|still|just) (?:currently |still |just |also )?rent(?:ing)?\b",
    ),
    (
        Home(Some(false)),
        r"\b(?:renter|renters|tenant|tenants|renting)\b",
    ),
    (Home(Some(false)), r"\b(?:my|our|the) landlord\b"),
    (
        Home(Some(false)),
        r"\b(?:apartment|place|unit|room) (?:i|we) rent\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:i|we) (?:also |already |both |do |actually |currently |jointly |fully |only |just )?own\b|\bours (?:included|too|as well)\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:it'?s|its|it is|the (?:house|home|place|property|building) is|house is|home is|place is) (?:all |really )?(?:ours|mine)\b|\bours is (?:a|an)\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:i'?ve|we'?ve|i have|we have|have|has) (?:owned|been (?:the )?(?:home ?)?owners)\b|(?:^|[.!?,;] )owned (?:it |the (?:house|home|place) )?(?:since|for)\b|\bowners? (?:for|since) [0-9a-z']+",
    ),
    (
        Home(Some(true)),
        r"(?:^|[.!?,;:] |\n)(?:ya |yeah |yes |yep |and |but |also )?own(?: (?:a|an|my|our|the|it|one|two|three|four|[1-4]|single|multi|house|home|brownstone|townhouse|rowhouse|condo|co-?op)\b| ?[,.:!]| in\b| [0-9]|$)|\bown ?: ?(?:yes|y)\b|, owned(?:[.!]|$)",
    ),
    (
        Home(Some(true)),
        r"(?:^|[.!?,;] )(?:proud |new )?(?:home ?|property |condo |co-?op )?owners?(?: of (?:a|an|my|our|this|one|two|three|four|[1-4])\b| (?:here|in)\b| ?[,.:!]|$)|\b(?:house|home|brownstone|townhouse|rowhouse|row house|condo|co-?op|property|limestone|(?:one|two|three|four|[1-4]) ?-?family|(?:2|two|3|three) ?-?fam) owners?\b|\b(?:i'?m|i am|we'?re|we are) (?:the |a )?(?:only |sole |main |primary |proud )owners?\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:if|when|once) (?:i|we) sell (?:the|my|our) (?:house|home|place|property|brownstone)\b|\b(?:our|my) forever home\b|\binherited (?:the|my|our|a|his|her) (?:[a-z']+ )?(?:house|home|property|brownstone|place)\b|\b(?:the|my|our) (?:house|home|place|mortgage) is paid off\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:i'?m|i am|we'?re|we are) (?:the |a )?(?:home ?owners?|owners?|property owners?|co-?owners?)\b",
    ),
    (
        Home(Some(true)),
        r"\bhome ?owners?\b|\bowner[- ]occupied\b|\bco-?owners?\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:i|we) (?:just |recently |finally )?(?:bought|purchased|closed on)\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:my|our) mortgage\b|\bpaid off (?:the|my|our) (?:house|home|mortgage)\b",
    ),
    (
        Home(Some(true)),
        r"\b(?:my|our) (?:own )?(?:house|brownstone|townhouse|townhome|row ?house|limestone|property|two ?-?family|2 ?-?family|three ?-?family|3 ?-?family|duplex)\b",
    ),
    // ---- property type ---------------------------------------------------------------
    (
        PropVeto,
        r"\b(?:house|home|condo|co-?op|townhouse|brownstone|2 ?-?family|two ?-?family) (?:or|vs\.?|versus) (?:a |an )?(?:house|home|condo|co-?op|townhouse|brownstone|2 ?-?family|two ?-?family)\b|\b(?:house|home) listings?\b|\blook(?:ed|ing)? at (?:a|an|some) (?:house|home|condo|co-?op|brownstone)s?\b|\b(?:neighbou?rs?|friends?|co-?workers?|colleagues?|boss)(?:'?s)? (?:(?:owns|has|got|bought|put)[a-z ]{0,20} )?(?:(?:a|an|her|his|their) )?(?:house|home|brownstone|townhouse|condo|co-?op|two ?-?family|2 ?-?family)\b|\b(?:condo|co-?op) owners\b",
    ),
    // A home that already has solar and belongs to someone else ("my cousin has solar on
    // his house", "her brownstone got panels"): an anecdote, not the homeowner's home.
    (
        PropVeto,
        r"\b(?:has|have|had|got|gotten|put|installed|did|went) (?:solar|panels|solar panels)(?: [a-z']+){0,3} (?:on|for|at) (?:his|her|their) (?:[a-z-]+ )?(?:house|home|brownstone|townhouse|condo|co-?op|two ?-?family|2 ?-?family|place)\b|\b(?:[a-z]+'s|his|her|their) (?:[a-z-]+ )?(?:house|home|brownstone|townhouse|condo|co-?op|two ?-?family|2 ?-?family|place) (?:already )?(?:has|had|got|with) (?:solar|panels)\b",
    ),
    // A past home ("we used to own a two-family", "I grew up in a brownstone", "my old
    // house"): not the home the solar is for.
    (
        PropVeto,
        r"\b(?:used to (?:own|have|live in|rent)|grew up in|sold) (?:a |an |my |our |the |his |her |their )?(?:old )?(?:house|home|brownstone|townhouse|condo|co-?op|two ?-?family|2 ?-?family|three ?-?family|3 ?-?family|row ?house)\b|\b(?:my|our) (?:old|previous|last|former) (?:house|home|brownstone|townhouse|condo|co-?op|two ?-?family|2 ?-?family|place)\b",
    ),
    // A question about a kind of home in general ("are condos harder to get approved?",
    // "can a co-op go solar?", "how do brownstones handle it?"): a category, not a claim.
    (
        PropVeto,
        r"(?:^|[.!?,;:] |\n)(?:and |but |so |also |ok |okay )?(?:is|are|can|could|do|does|would|will|should|what about|how about|how do|how does|how are|how is|why do|why are) (?:a |an |most |many |all |some |other )?(?:(?:house|home|condo|co-?op|coop|townhouse|brownstone|rowhouse|row house|two ?-?family|2 ?-?family|multi ?-?family)s?|condominiums?|cooperatives?|two ?-?families|2 ?-?families)\b",
    ),
    // "Two family members", "a family of four": people, not a two-family house.
    (
        PropVeto,
        r"\b(?:2|3|4|two|three|four) ?-?(?:family|fam) (?:members?|friends?)\b",
    ),
    (Prop(PropertyType::Condo), r"\bcondo(?:minium)?s?\b"),
    (
        Prop(PropertyType::Coop),
        r"\b(?:co-?op|co op|cooperative)s?\b",
    ),
    (
        Prop(PropertyType::MultiFamily),
        r"\b(?:2|3|4|two|three|four) ?-?(?:family|fam|unit|units)\b",
    ),
    (
        Prop(PropertyType::MultiFamily),
        r"\b(?:duplex|triplex|fourplex|quadplex|multi ?-?family|multi ?-?unit|multifamily)\b",
    ),
    (
        Prop(PropertyType::Townhouse),
        r"\b(?:town ?-?houses?|town ?-?homes?|brownstones?|row ?-?houses?|row ?-?homes?|limestones?|attached (?:house|home)|semi ?-?detached|semi ?-?attached)\b",
    ),
    (
        Prop(PropertyType::SingleFamily),
        r"\b(?:single|one|1) ?-?fam(?:ily)?\b",
    ),
    (
        Prop(PropertyType::SingleFamily),
        r"\b(?:detached|stand ?-?alone|free ?-?standing) (?:house|home)\b|\bdetached\b",
    ),
    // Weak: "house" alone, only when nothing more specific was said.
    (
        Prop(PropertyType::SingleFamily),
        r"\bhous(?:e)?\b|\b(?:cape cod|cape|tudor|colonial|ranch|hi ?-?ranch|raised ranch|bungalow|split ?-?level|victorian|frame house)\b",
    ),
    // ---- timeline (phrases; explicit durations are handled by DURATION_RE) -------------
    (
        TimeVeto(Timeline::Immediate),
        r"\bnot (?:right away|immediately|asap|right now|this month|ready|in a (?:rush|hurry)|urgent)\b|\bno (?:rush|hurry)\b",
    ),
    (
        TimeVeto(Timeline::Immediate),
        r"(?:\b(?:bill|bills|paid|pay|spent|usage|used)\b|\$ ?[0-9])[a-z0-9$. '-]{0,40}\bthis month\b|\bthis month'?s (?:bill|electric|usage)\b",
    ),
    (
        TimeVeto(Timeline::WithinSixMonths),
        r"(?:\b(?:bill|bills|paid|pay|spent|usage|used|rates?|prices?)\b|\$ ?[0-9])[a-z0-9$. '-]{0,40}\bthis year\b|\bthis year'?s (?:bill|electric|usage)\b",
    ),
    (
        TimeVeto(Timeline::WithinThreeMonths),
        r"(?:\b(?:bill|bills|paid|pay|spent|usage|used|went up|higher|hot|ac)\b|\$ ?[0-9])[a-z0-9$. '-]{0,40}\b(?:this|in the|last|every) (?:spring|summer|fall|autumn|winter)\b|\b(?:spring|summer|fall|autumn|winter) (?:bills?|months?)\b",
    ),
    (
        TimeVeto(Timeline::WithinThreeMonths),
        r"\b(?:talk|speak|see you|hear from you|chat|reply|respond|get back to you|call you|back to me) soon\b|\bnot (?:any ?time )?soon\b|\b(?:mov(?:e|ing)|sell(?:ing)?|leav(?:e|ing)|replac(?:e|ed|ing)|redo(?:ne)?|going anywhere|retir(?:e|ing))(?: it| the roof)? (?:any ?time |too |very |pretty )?soon\b",
    ),
    (
        TimeVeto(Timeline::Immediate),
        r"\b(?:sell|selling|sold|move|moving|moved|relocat[a-z]*|clos(?:e|es|ing)|bought|retir(?:e|ing))\b[a-z0-9 ,'-]{0,15}\b(?:asap|this month|this week|next week|right away|immediately)\b",
    ),
    (
        TimeVeto(Timeline::WithinThreeMonths),
        r"\b(?:sell|selling|sold|move|moving|moved|relocat[a-z]*|clos(?:e|es|ing)|bought|retir(?:e|ing))\b[a-z0-9 ,'-]{0,15}\b(?:next month|soon|(?:this|in the|by|in) (?:spring|summer|fall|autumn|winter))\b",
    ),
    (
        TimeVeto(Timeline::WithinSixMonths),
        r"\b(?:sell|selling|sold|move|moving|moved|relocat[a-z]*|clos(?:e|es|ing)|bought|retir(?:e|ing))\b[a-z0-9 ,'-]{0,15}\b(?:this year|later this year|end of (?:the |this )?year)\b",
    ),
    (
        TimeVeto(Timeline::WithinYear),
        r"\b(?:sell|selling|sold|move|moving|moved|relocat[a-z]*|clos(?:e|es|ing)|bought|retir(?:e|ing))\b[a-z0-9 ,'-]{0,15}\b(?:next year|next (?:spring|summer|fall|autumn|winter))\b",
    ),
    (
        Time(Timeline::Immediate),
        r"\b(?:asap|as soon as possible|right away|immediately|this month|this week|next week|this weekend|ready now|ready to (?:go|start|move forward|sign|buy|get started|do it)|the sooner the better|sooner rather than later|urgent(?:ly)?|by the end of the month)\b",
    ),
    (
        Time(Timeline::WithinThreeMonths),
        r"\bafter (?:the )?(?:holidays|new year'?s?|the new year|christmas|thanksgiving)\b|\b(?:next (?:few|couple(?: of)?) months|next month|(?:this|by|by the|before|before the|in the) (?:spring|summer|fall|autumn|winter)|soon|pretty soon|shortly|this quarter|next quarter)\b",
    ),
    (
        Time(Timeline::WithinSixMonths),
        r"\b(?:this year|later this year|(?:by|before) (?:the )?end of (?:the |this )?year|by year'?s? end|half a year|in the (?:second|latter) half of the year)\b",
    ),
    (
        Time(Timeline::WithinYear),
        r"\b(?:next year|within (?:a|one|the) year|within the next year|in the next year|next (?:spring|summer|fall|autumn|winter)|in the new year|by next (?:year|spring|summer|fall|winter))\b",
    ),
    (
        Time(Timeline::MoreThanYear),
        r"\b(?:years from now|someday|some day|eventually|down the road|long ?-?term plan|not (?:any ?time )?soon|not for a while|in the (?:distant |far )?future)\b",
    ),
    (
        Time(Timeline::JustResearching),
        r"\b(?:just (?:looking|researching|browsing|curious|wondering|exploring|checking|asking|getting (?:some )?info(?:rmation)?|want(?:ed|ing)? (?:to know|info|information|some info|to learn|to see))|(?:gathering|collecting|getting) (?:some )?info(?:rmation)?|doing (?:some |my )?research|researching|exploring (?:my |our |the )?options|early stages?|no (?:set )?timeline|no (?:plans|timeline) yet|not ready)\b",
    ),
    // ---- decision maker: Influencer > Joint > Sole -------------------------------------
    (
        Decide(DecisionMaker::Influencer),
        r"\b(?:my|our) (?:parents?|mom|mother|dad|father|in-laws|mother ?-?in ?-?law|father ?-?in ?-?law|grandparents?|grandma|grandpa|grandmother|grandfather|family|brother|sister|son|daughter|aunt|uncle|cousin) (?:owns?|decides?|makes? the decisions?|has the final say|is the owner|are the owners|is on the deed)\b|\bmy (?:parents?|mom|mother|dad|father|in-laws|mother ?-?in ?-?law|father ?-?in ?-?law|grandparents?|grandma|grandpa|grandmother|grandfather|family|brother|sister|son|daughter|aunt|uncle|cousin)\b[a-z0-9 ,'$/-]{0,30}\b(?:she|he|they) (?:owns?|decides?|makes? the decisions?|has the final say|is the owner|are the owners)\b|\bnot the (?:home ?)?owner,? my (?:parents?|mom|mother|dad|father|in-laws|mother ?-?in ?-?law|father ?-?in ?-?law|grandparents?|grandma|grandpa|grandmother|grandfather|family|brother|sister|son|daughter|aunt|uncle|cousin) is\b|\b(?:it'?s|its|it is) my (?:parents?|mom|mother|dad|father|in-laws|mother ?-?in ?-?law|father ?-?in ?-?law|grandparents?|grandma|grandpa|grandmother|grandfather|family|brother|sister|son|daughter|aunt|uncle|cousin)'?s?(?: (?:house|home|place|property))?(?:[.!?,]|$)|\b(?:she|he) decides\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\b(?:it'?s|its|it is|the house is|house is|home is|property is|the home is) (?:in )?my (?:parents'?|mom'?s|mother'?s|dad'?s|father'?s|grandparents'?|family'?s) (?:house|home|name|property|place)\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\b(?:have|need|needs|got|going) to (?:convince|persuade|talk|get buy-?in from|get approval from|get permission from|ask permission from) (?:my|our|the)\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\b(?:need|have) to (?:ask|check with|get it past|run it by) (?:my|our) (?:parents?|mom|mother|dad|father|landlord|in-laws|board|co-?op board)\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\bboard approval\b|\bapproval from (?:the|our|my) (?:co-?op |condo )?board\b|\b(?:hoa|board) (?:has|have|would have|needs) to (?:approve|sign off)\b|\b(?:need|needs) (?:the )?board\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\bnot (?:my|the) (?:decision|call|choice)\b|\bnot the decision ?-?maker\b|\bnot up to me\b",
    ),
    (
        Decide(DecisionMaker::Influencer),
        r"\b(?:my|the) (?:husband|wife|spouse|partner) (?:decides|makes (?:the|all the|those) decisions|has the final say|handles (?:that|this|those|the money|finances)|is the decision ?-?maker)\b|\bup to my (?:husband|wife|spouse|partner|parents?|mom|dad|landlord|family|board)\b",
    ),
    (
        Decide(DecisionMaker::Joint),
        r"\bin my (?:wife|husband|spouse|partner)'?s name\b|\b(?:my|our) (?:wife|husband|spouse|partner|fiancee?|boyfriend|girlfriend) and (?:i|me)\b|\b(?:me|i) and my (?:wife|husband|spouse|partner|fiancee?|boyfriend|girlfriend)\b",
    ),
    (
        Decide(DecisionMaker::Joint),
        r"\b(?:discuss|talk|check|consult|decide|go over|run it by|speak|think it over)(?: (?:it|this|that|things))?(?: over)? (?:with|by) (?:my|our) (?:wife|husband|spouse|partner|co-?owner|fiancee?|boyfriend|girlfriend|family)\b",
    ),
    (
        Decide(DecisionMaker::Joint),
        r"\b(?:we|we'?ll|we will|we would|we'?d|we both) (?:both )?(?:decide|make (?:the|this|that) decision|make decisions)(?: together)?\b|\b(?:decide|decision|deciding) together\b|\bjoint(?:ly)? (?:decision|decide|own|owned|owners?)\b|\bco-?own(?:ers?|ed)?\b|\bwe both own\b|\bboth on the (?:deed|title)\b|\bown (?:it |the (?:house|home|place) |(?:a|an) [a-z0-9-]+ (?:[a-z-]+ )?)?(?:together )?with my (?:wife|husband|spouse|partner|brother|sister|mom|mother|dad|father|son|daughter|cousin|fiancee?|boyfriend|girlfriend)\b",
    ),
    (
        Decide(DecisionMaker::Sole),
        r"\b(?:it'?s|its|it is) (?:all |ultimately )?my (?:decision|call|choice)\b|\bmy (?:decision|call) alone\b|\bi (?:make|'?ll make|will make) (?:the|all the|all) decisions?\b|\bi (?:decide|make the call)\b|\b(?:i'?m|i am) the (?:sole |only )?decision ?-?maker\b|\b(?:sole|only|single) (?:owner|decision ?-?maker)\b|\bi own it (?:myself|alone|by myself|outright)\b|\bup to me\b|\bmy decision\b|\bi live alone\b|\bdon'?t need (?:anyone'?s|anybody'?s) (?:approval|permission)\b|\b(?:just|only) (?:me|my name) on the (?:deed|title)\b|\b(?:the )?only (?:owner and )?decision ?-?maker\b",
    ),
    // ---- financing: vetoes first, then Undecided > Cash > Loan > Lease/PPA --------------
    (
        FinVeto(Financing::LeaseOrPpa),
        r"\b(?:leas(?:e|es|ing)|ppas?)(?: [a-z]+)? (?:sounds?|seems?|is|are|looks?) (?:like )?(?:a |an )?(?:scam|bad|terrible|awful|rip ?-?off|bad idea|bad deal|trap)\b|\bhate (?:the idea of )?(?:leas(?:e|ing)|ppas?)\b",
    ),
    (
        FinVeto(Financing::Loan),
        r"\bloans?(?: [a-z]+)? (?:sounds?|seems?|is|are|looks?) (?:like )?(?:a |an )?(?:scam|bad|terrible|awful|rip ?-?off|bad idea|bad deal|trap)\b",
    ),
    (
        FinVeto(Financing::Cash),
        r"\b(?:cash|money|budget|funds?|finances) (?:is|are|'s|are a bit|is a bit|is pretty|is really) (?:tight|short|limited|low)\b|\bmoney'?s tight\b",
    ),
    (
        FinVeto(Financing::LeaseOrPpa),
        r"\b(?:neighbou?rs?|friends?|sister|brother|cousin|co-?workers?|colleagues?|mom|dad|parents?|uncle|aunt)(?:'?s)? (?:(?:has|had|got|took|signed|did) (?:a |an )?)?(?:solar )?(?:lease|loan|ppa)s?\b",
    ),
    (
        FinVeto(Financing::Loan),
        r"\b(?:neighbou?rs?|friends?|sister|brother|cousin|co-?workers?|colleagues?|mom|dad|parents?|uncle|aunt)(?:'?s)? (?:(?:has|had|got|took|signed|did) (?:a |an )?)?(?:solar )?(?:lease|loan|ppa)s?\b",
    ),
    (
        FinVeto(Financing::LeaseOrPpa),
        r"\b(?:no|not|don'?t want|do not want|not interested in|never|avoid|hate|against)(?: a| an| to| any)? (?:solar )?(?:lease|leasing|ppa)s?\b|\b(?:my|our|apartment|rental) lease\b|\blease (?:is up|ends|expires|renewal)\b|\bleasing (?:my|our|an?|the) (?:apartment|apt|place|unit|room|flat|studio)\b",
    ),
    (
        FinVeto(Financing::Loan),
        r"\b(?:no|not|don'?t want|do not want|not interested in|never|avoid|hate|against|without)(?: a| an| to| any| taking on| taking out| more)? (?:solar )?(?:loans?|debt|financing|finance it)\b|\b(?:what about|how about|do you (?:offer|have|do)|are there|any|what) (?:solar )?loans?\b",
    ),
    (
        FinVeto(Financing::Cash),
        r"\b(?:don'?t|do not|can'?t|cannot|won'?t) (?:have (?:the |that kind of |enough )?(?:cash|money)|pay (?:cash|upfront|up front|outright|in full))\b|\bno cash\b",
    ),
    (
        Fin(Financing::Undecided),
        r"\b(?:not sure|unsure|don'?t know|no idea|undecided|haven'?t decided|figuring out) (?:yet )?(?:about |on )?(?:how (?:to|i'?d|we'?d|i would|we would|i'?ll|we'?ll|i will|we will|i should|we should) (?:pay|finance|fund)|(?:the )?(?:financing|payment))\b|\b(?:financing|payment) options\b|\b(?:cash|buy|buying|loan|finance|financing) (?:or|vs\.?|versus) (?:a |to )?(?:cash|buy|buying|loan|finance|financing|lease|leasing|ppa|pay(?:ing)? (?:cash|upfront|in full))\b|\b(?:lease|leasing|ppa|pay(?:ing)? (?:cash|upfront|in full)) (?:or|vs\.?|versus) (?:a |to )?(?:cash|buy|buying|loan|finance|financing)\b",
    ),
    (
        Fin(Financing::Cash),
        r"\b(?:pay(?:ing)?|paid|buy(?:ing)?|purchas(?:e|ing)) (?:it |them |for it |for them |for everything |the (?:system|panels) |in )?(?:cash|outright|upfront|up front|up-front|in full|out of pocket)\b|\b(?:cash|out of pocket|outright purchase|cash purchase)\b|\b(?:use|using|from) (?:my |our )?savings\b|\bhave the (?:cash|money) (?:for it|ready|saved|set aside)\b",
    ),
    (
        Fin(Financing::Loan),
        r"\bloans?\b|\bfinanc(?:e|ed|ing)\b|\bheloc\b|\bhome equity (?:loan|line)\b|\bborrow(?:ing)?\b|\bmonthly payments?\b",
    ),
    (
        Fin(Financing::LeaseOrPpa),
        r"\bleas(?:e|ing)\b|\bppa\b|\bpower purchase(?: agreement)?\b|(?:\$0|\b0 dollars|\bzero|\bno money|\bnothing|\bno) (?:down|upfront|up front|out of pocket)\b|\bno upfront (?:cost|costs|payment)\b",
    ),
    // ---- credit ------------------------------------------------------------------------
    (
        Credit(CreditSignal::Strong),
        r"\bcredit (?:score )?(?:isn'?t|is not|isnt|'s not) (?:bad|poor|terrible|low|an issue|a problem)\b|\bnot (?:bad|poor) credit\b",
    ),
    (
        Credit(CreditSignal::Weak),
        r"\bcredit (?:score )?(?:isn'?t|is not|isnt|'s not) (?:great|good|the best|excellent|strong|high)\b|\b(?:not (?:great|good|the best)|less than (?:perfect|stellar)|so-?so|fair|average) credit\b|\b(?:don'?t|do not) have (?:good|great|the best) credit\b",
    ),
    (
        Credit(CreditSignal::Strong),
        r"\b(?:excellent|great|good|strong|very good|perfect|solid|stellar|high|amazing) credit\b|\bcredit (?:score )?(?:is|'s) (?:excellent|great|good|strong|very good|perfect|solid|stellar|high)\b|\bpre-?approved\b",
    ),
    (
        Credit(CreditSignal::Strong),
        r"\b(?:score|credit) (?:is |of |around |about |is about |is around |is like |~)?(?:7[0-9][0-9]|8[0-5][0-9])\b|\b(?:7[0-9][0-9]|8[0-5][0-9]) (?:credit|fico)\b",
    ),
    (
        Credit(CreditSignal::Strong),
        r"\b(?:lots of|plenty of|a lot of|significant|tons of|high) (?:home )?equity\b|\bno mortgage\b|\bmortgage is paid off\b|\bpaid off (?:the|my|our) (?:mortgage|house|home)\b|\bpaid (?:it|the (?:house|home|mortgage)) off\b|\b(?:house|home|place|it) is paid off\b|\bfree and clear\b|\bown (?:it|the (?:house|home|place)) outright\b",
    ),
    (
        Credit(CreditSignal::Weak),
        r"\b(?:bad|poor|terrible|low|horrible|awful|damaged|bruised|rough|shaky|limited|no) credit\b|\bcredit (?:score )?(?:is|'s) (?:bad|poor|terrible|low|shot|awful)\b|\bbankrupt(?:cy|cies)?\b|\bforeclosure\b|\bin collections\b",
    ),
    (
        Credit(CreditSignal::Weak),
        r"\bscore (?:is |of |around |about |is about |is around |is like |~)?(?:[3-5][0-9][0-9]|6[01][0-9])\b|\b(?:[3-5][0-9][0-9]|6[01][0-9]) (?:credit|fico)\b",
    ),
    (
        Credit(CreditSignal::Weak),
        r"\b(?:can'?t|couldn'?t|cannot|could not|won'?t|didn'?t) (?:get|qualify for) (?:approved|financing|a loan|credit|financed)\b|\b(?:denied|rejected|turned down) (?:for )?(?:a |the )?(?:loan|financing|credit)\b",
    ),
    // ---- competing quotes ----------------------------------------------------------------
    (
        Quotes(Some(false)),
        r"\b(?:haven'?t|have not|havent|didn'?t|did not|never) (?:yet )?(?:talked|spoken|spoke|reached out|contacted|gotten|got|received|asked for|requested|looked at|met with|called) (?:to |with |for )?(?:any(?:one| one| other| others)?|other|another|quotes|any quotes|other (?:installers|companies))\b",
    ),
    (
        Quotes(Some(false)),
        r"\b(?:don'?t|do not) have (?:any )?(?:other |more )?(?:quotes?|estimates?|bids?)\b|\bno (?:other )?(?:quotes?|estimates?|bids?)(?: yet)?\b|\b(?:my|the) first (?:quote|installer|company)\b|\byou'?re (?:the|my) first\b|\b(?:only|just) (?:talking|talked|speaking) (?:to|with) you\b|\bnot (?:shopping around|comparing)\b",
    ),
    (
        Quotes(None),
        r"\b(?:can|could|may|how do|how can|want to|wanna|would like to|i'?d like to|like to|looking to|hoping to|trying to|interested in|to) (?:i |we |you )?(?:get|have|getting|receive|request) (?:a |an |my |some |free )?(?:free )?(?:quote|estimate)s?\b",
    ),
    (
        Quotes(Some(true)),
        r"\b(?:got|have|had|received|gotten|getting|collected|compared) (?:a |an |one |two |three |[0-9] |some |several |a few |a couple(?: of)? |multiple |other |another |few |couple of )?(?:other |more |different |competing |solar )?(?:quotes?|estimates?|bids?|proposals?)\b",
    ),
    (
        Quotes(Some(true)),
        r"\b(?:got|have|had|received|gotten)(?: [a-z0-9$,.]+){0,4} (?:quotes?|estimates?|proposals?|bids?)\b|\b(?:quote|estimate|proposal|bid)s? (?:for|of|was|is|came in at) (?:about |around |like |over |under )?(?:\$|[0-9])",
    ),
    (
        Quotes(Some(true)),
        r"\bquoted\b|\b(?:quote|estimate|proposal|bid) from\b|\bcompar(?:e|ing) (?:quotes|installers|offers|companies|prices|estimates|bids)\b|\bshop(?:ping)? around\b",
    ),
    (
        Quotes(Some(true)),
        r"\b(?:talked|spoke|spoken|talking|speaking|met|meeting|working) (?:to|with) (?:another|other|a few|several|some|a couple(?: of)?|two|three|[0-9]|a different) (?:other )?(?:installers?|compan(?:y|ies)|contractors?|solar compan(?:y|ies)|providers?)\b",
    ),
    // ---- technical topics ----------------------------------------------------------------
    (
        Topic(TechnicalTopic::Inverters),
        r"\b(?:micro ?-?)?inverters?\b|\boptimi[sz]ers?\b|\benphase\b|\bsolar ?edge\b",
    ),
    (
        Topic(TechnicalTopic::Production),
        r"(?:\b|[0-9])kwh?s?\b|\bkilowatt|\bmegawatt|\bwatts?\b|\bhow much (?:power|energy|electricity)\b|\bproduc(?:e|es|tion|ing)\b|\boutput\b|\bsystem size\b|\bsize (?:of )?the system\b|\bhow (?:big|large|many panels)\b|\bgenerat(?:e|es|ion|ing)\b|\boffset\b",
    ),
    (
        Topic(TechnicalTopic::NetMetering),
        r"\bnet ?-?meter(?:ing|ed)?\b|\bsell(?:ing)? (?:it |the (?:extra|excess) |(?:extra |excess )?(?:power|energy|electricity) )?back\b|\bcredits? on (?:my|the|our) bill\b|\bbill credits?\b|\bvder\b|\bvalue stack\b|\bexport(?:s|ed|ing)?\b|\bexcess (?:power|energy|electricity|production)\b|\bfeed ?-?in\b|\bgrid\b",
    ),
    (
        Topic(TechnicalTopic::Batteries),
        r"\bbatter(?:y|ies)\b|\bpower ?wall\b|\bstorage\b|\bbackup\b|\bback-up\b|\bblackouts?\b|\boutages?\b|\boff ?-?grid\b",
    ),
    (
        Topic(TechnicalTopic::Warranties),
        r"\bwarrant(?:y|ies|ied)\b|\bguarantee[sd]?\b|\bdegrad(?:e|es|ation)\b|\bhow long (?:do|does|will|would) (?:they|the panels|panels|it|the system|solar panels) last\b|\blife ?span\b",
    ),
    (
        Topic(TechnicalTopic::Panels),
        r"\bpanel efficiency\b|\befficiency of (?:the )?panels\b|\bhow efficient\b|\befficient panels\b|\bmono ?-?crystalline\b|\bpoly ?-?crystalline\b|\b(?:brand|brands|type|kind|make) of (?:solar )?panels?\b|\b(?:what|which) (?:solar )?panels?\b|\bpanel (?:brand|type|model|quality)s?\b|\btier ?-?(?:1|one)\b|\brec\b|\bq ?-?cells?\b|\bhanwha\b|\blg (?:solar|panels?)\b|\bbifacial\b|\bpanel wattage\b|\bjinko\b|\blongi\b|\bcanadian solar\b|\bsilfab\b|\bmaxeon\b|\ball ?-?black panels\b",
    ),
    (
        Topic(TechnicalTopic::Permits),
        r"\bpermit(?:s|ting)?\b|\bfdny\b|\bsetbacks?\b|\blandmark(?:s|ed)?\b|\bdob\b|\bdepartment of buildings\b|\binterconnect(?:ion)?\b|\bboard approval\b|\b(?:co-?op|condo) board\b|\bzoning\b|\binspections?\b|\blpc\b|\bfire code\b",
    ),
    (
        Topic(TechnicalTopic::Maintenance),
        r"\bmaint(?:enance|ain|aining|ained)\b|\bcleaning\b|\bclean (?:the |them|panels)\b|\bsnow\b|\bupkeep\b|\bpigeons?\b",
    ),
    // ---- topics the reply must address (technical topics and objections add theirs) ----
    (
        Asks(Subject::Cost),
        r"\b(?:cost|costs|costing|price|prices|pricing|priced|expensive|pricey|afford|affordable)\b|\bhow much (?:is it|is this|is that|are (?:they|panels|solar panels|the panels)|would (?:it|the whole thing|this|that|solar|a system) (?:run|be|cost)|for (?:a|the|solar))\b|\bwhat (?:would|does|will) (?:it|solar|this|that) (?:cost|run)\b",
    ),
    (
        Asks(Subject::Payback),
        r"\bbills? (?:with|after) (?:solar|panels)\b|\bworth (?:it|the (?:money|cost|investment))\b|\bpay(?:s)? (?:for )?itself\b|\bpays? off\b|\bpayback\b|\bpay back\b|\bbreak ?-?even\b|\broi\b|\breturn on (?:the )?investment\b|\bhow much (?:would|could|can|will|do|might|should) (?:i|we) (?:save|expect to save)\b|\bsav(?:e|ings?) (?:per|a|each|every) (?:month|year)\b|\bsave (?:me |us )?(?:money|anything)\b|\b(?:does|would|will|is) (?:it|solar|this|that) (?:still )?(?:make sense|a good investment)\b|\bhow much (?:do|would|could|can) (?:i|we) save\b",
    ),
    (
        Asks(Subject::Roof),
        r"\broofs?\b|\bbulkheads?\b|\bshingles?\b",
    ),
    (
        Asks(Subject::InstallTime),
        r"\bhow long (?:does|will|would|is|do|till|until|before|to)\b[a-z0-9 ,'$/-]{0,50}\b(?:install|installation|installing|installed|take|takes|approved|approval|connected|hooked up|turn(?:ing)? on|process)\b|\bhow (?:quickly|fast|soon) (?:can|could|will|would|do|does)\b[a-z0-9 ,'$/-]{0,30}\b(?:install|installed|done|up and running)\b|\binstall(?:ation)? (?:take|takes|time|timeline)\b|\bhow many (?:days|weeks|months) (?:does|will|would|to)\b|\bcon ?ed(?:ison)? (?:part|approval|hook ?-?up)\b|\binterconnect(?:ion)?\b",
    ),
    (
        AsksVeto(Subject::Winter),
        r"\b(?:this|next|by|before|until|by the|before the) winter\b",
    ),
    (
        Asks(Subject::Winter),
        r"\bwinters?\b|\bsnow(?:s|ing|y|fall)?\b|\bcloudy\b|\bclouds?\b|\bovercast\b|\bdecember\b|\bcold (?:weather|months|days)\b|\b(?:nyc|new york|our|bad) weather\b|\bice\b",
    ),
    (
        Asks(Subject::Selling),
        r"\blistings?\b|\b(?:a|the) (?:house|home) with solar\b|\bsell(?:ing)? (?:the |my |our )?(?:house|home|place|property)\b|\b(?:if|when|once) (?:i|we|you) sell\b|\bsell in\b|\bresale\b|\b(?:home|house|property) values?\b|\bvalue of (?:my|the|our) (?:home|house|property)\b|\bsell(?:s)? for more\b",
    ),
    (
        Asks(Subject::Board),
        r"\b(?:co-?op|co op|cooperative|condo(?:minium)?)s?\b|\bboard\b|\bhoa\b",
    ),
    (
        Asks(Subject::Landmarks),
        r"\blandmark(?:s|ed)?\b|\bhistoric(?:al)?\b|\blpc\b|\bpreservation\b",
    ),
    (
        Asks(Subject::FireCode),
        r"\bfdny\b|\bfire ?-?code\b|\bsetbacks?\b|\bfire (?:department|safety|rules?|access)\b|\bclearance on the roof\b",
    ),
    (
        Asks(Subject::Financing),
        r"\bhow (?:to|i'?d|we'?d|i would|we would|should (?:i|we)|do (?:i|we)) (?:pay|finance|fund)\b|\bleas(?:e|es|ing)\b|\bppas?\b|\bpower purchase\b|\bloans?\b|\bfinanc(?:e|ed|ing)\b|\bheloc\b|\b(?:pay|paying) (?:cash|upfront|up front)\b|\bcash\b|\bmonthly payments?\b|\b(?:zero|\$0|no money) down\b|\bcredit\b",
    ),
    (
        Asks(Subject::Incentives),
        r"\btax (?:credits?|breaks?|incentives?|abatements?)\b|\bincentives?\b|\brebates?\b|\babatements?\b|\bsubsid(?:y|ies)\b|\bnyserda\b|\bny-?sun\b|\b30 ?%|\b30 percent\b|\bitc\b|\bgrants?\b|\b(?:property )?tax(?:es)?\b",
    ),
    (
        Asks(Subject::Batteries),
        r"\bpower (?:goes|went|going) out\b|\blose power\b|\bemergency power\b",
    ),
    (
        Asks(Subject::Warranties),
        r"\bhow long (?:do|does|will|would|can) [a-z ]{1,30} last\b|\b(?:a |the )?(?:panel|panels|inverter|it|something) (?:breaks|broke|fails|stops working|gets damaged)\b|\bbreaks? down\b",
    ),
    (
        Asks(Subject::Renters),
        r"\b(?:a|any|the) (?:renter|tenant)\b|\bcommunity solar\b|\brenters?\b|\b(?:need|have) to own\b|\bif (?:i'?m|i am|we'?re|we are) (?:a )?rent(?:er|ing)\b|\btenants? (?:can|do|get)\b",
    ),
    (
        Asks(Subject::Looks),
        r"\blooks? (?:like|weird|ugly|bad|good|strange|odd)\b|\bhow (?:it|they|the panels|panels|solar)(?: would| will| might|'?ll)? look\b|\bappearance\b|\bvisible\b|\bcurb appeal\b|\bfrom the street\b",
    ),
    (
        Asks(Subject::Trust),
        r"\blegit(?:imate)?\b|\bscam\b|\blicensed\b|\binsured\b|\bwho (?:does|will do|would do|installs|would install|will install|is doing)\b|\bdo you (?:guys )?(?:do|install)\b|\bsell my (?:info|information|data|details|number)\b|\b(?:need|want) my address\b|\bprivacy\b|\bwho are you\b|\bcatch\b|\bripoff|\brip ?-?off\b",
    ),
    (
        Asks(Subject::Production),
        r"\bface (?:south|north|east|west)\b|\b(?:south|north|east|west) ?-?facing\b|\bwhat size\b|\bhow many panels\b|\bcover (?:my|the|our) (?:whole |entire )?bill\b|\bhow much (?:power|energy|electricity)\b",
    ),
    // ---- objections: per objection, the first matching rule decides --------------------
    // Cost
    (
        Obj(Cost, Resolve),
        r"\b(?:the )?(?:cost|price|money|budget|affordability|upfront cost)s? (?:is|was|are)(?:n'?t| not| no longer) (?:really |much of |that much of |that big of |that big |even )?(?:an? |the )?(?:issue|problem|concern|worry|factor|obstacle|big deal)\b",
    ),
    (
        Obj(Cost, Resolve),
        r"\b(?:makes?|made) (?:the )?(?:cost|price|numbers|math|finances|it) (?:work|affordable|doable|manageable)\b|\b(?:i|we) can (?:afford|swing|handle) (?:it|that|this|the cost|the payments?)\b|\bnot (?:too|that|so) (?:expensive|pricey|costly)\b|\b(?:that'?s|that is|it'?s|it is) (?:actually |pretty |very )?(?:affordable|reasonable|doable|manageable|a good price|cheaper than i thought)\b|\b(?:money|cost|price) (?:is|'s) (?:fine|ok|okay|no object)\b|\bmoney is no object\b",
    ),
    (
        Obj(Cost, Raise),
        r"\btoo (?:expensive|pricey|costly|much money)\b|\bcosts? (?:too much|way too much|a fortune|an arm and a leg)\b|\b(?:is|seems|sounds|looks|are|'s|so|very|really|pretty|way|quite|kinda|kind of) (?:too |so |really |very |pretty |way |a bit |kind of )?(?:expensive|pricey|costly|unaffordable)\b",
    ),
    (
        Obj(Cost, Raise),
        r"\b(?:can'?t|cannot|can not|couldn'?t|could not|won'?t be able to|not able to) (?:really )?(?:afford|swing|justify the cost|pay for)\b|\bout of (?:my|our) (?:budget|price range)\b|\bover (?:my|our) budget\b|\bnot worth (?:it|the money|the cost|the investment)\b|\btight budget\b|\bon a budget\b|\bfixed income\b|\b(?:cash|money|budget|funds?|finances) (?:is|are|'s|are a bit|is a bit|is pretty|is really) (?:tight|short|limited|low)\b|\bmoney'?s tight\b",
    ),
    (
        Obj(Cost, Raise),
        r"\b(?:the )?(?:cost|price|upfront cost|up ?-?front cost|money|payments?|expense)s? (?:worries|worry|concerns?|scares?|freaks?)\b|\b(?:worried|concerned|nervous|scared|worry) (?:about|by) (?:the )?(?:cost|price|money|upfront|expense|payments?|up ?-?front|how much)\b|\b(?:don'?t|do not) have (?:the |that kind of |enough |that much )?(?:money|cash|budget)\b|\b(?:the )?(?:cost|price) is (?:a|an|my|the) (?:big |biggest |major |main |real |only |number one |#1 )?(?:issue|concern|problem|worry|factor|obstacle)\b",
    ),
    // Roof
    (
        Obj(Roof, Raise),
        r"\bneeds? (?:a )?(?:new roof|roof replacement|to replace (?:the|my|our) roof|(?:the |my )?roof (?:replaced|redone|fixed|repaired))\b|\broof (?:needs|need|will need|would need|is due for|requires)\b",
    ),
    (
        Obj(Roof, Resolve),
        r"\b(?:new|brand new|newer) roof\b|\broof (?:was|got|has been|is|were) (?:just |recently |completely )?(?:replaced|redone|re-?done|fixed|repaired|new|brand new|installed)\b|\b(?:replaced|redid|re-?did|re-?roofed|fixed|repaired) (?:the|my|our) roof\b|\broof (?:is|'s) (?:fine|good|great|solid|in (?:good|great) (?:shape|condition))\b",
    ),
    (
        Obj(Roof, Resolve),
        r"\broof\b[a-z0-9 ,'?.!-]{0,60}\b(?:it|which) (?:was|got|has been) (?:just |recently |completely )?(?:replaced|redone|re-?done|re-?roofed)\b|\bno (?:shade|shading|trees)\b|\bnot (?:shaded|shady)\b|\broof (?:isn'?t|is not|won'?t be) (?:a|an) (?:issue|problem|concern)\b|\btrees? (?:were|was|got|have been) (?:cut|removed|trimmed|taken)\b",
    ),
    (
        Obj(Roof, Raise),
        r"\b(?:old|older|aging|leaky|leaking|bad|damaged|weak|slate) roof\b|\broof (?:is|'s) (?:old|getting old|aging|leaking|leaky|bad|in bad shape|damaged|weak|[0-9]+ years old|falling apart|too small|small|tiny|shaded|north ?-?facing)\b|\bleak(?:s|ing|y)?\b|\bshad(?:e|ed|ing)\b|\bshady (?:roof|yard|house|street|block|lot|spot|backyard)\b|\btrees?\b|\bnorth ?-?facing\b",
    ),
    (
        Obj(Roof, Raise),
        r"\b(?:worried|concerned|nervous) (?:about|that) (?:my |the |our )?roof\b|\b(?:damage|holes? in|drill(?:ing)? (?:into|holes in)) (?:to )?(?:my |the |our )?roof\b|\broof (?:damage|problems?|issues?)\b|\bsmall roof\b|\bnot enough (?:roof )?(?:space|room)\b",
    ),
    // Aesthetics
    (
        Obj(Aesthetics, Raise),
        r"\b(?:don'?t|do not) like (?:how|the way|the look|the looks)\b|\bnot (?:a |the )?(?:big )?fan of (?:how|the way|the look|the looks)\b|\b(?:don'?t|doesn'?t|do not|does not|won'?t|wouldn'?t) look (?:good|great|nice)\b",
    ),
    (
        Obj(Aesthetics, Resolve),
        r"\b(?:don'?t|do not) mind (?:how|the way|the look|the looks|what)\b|\b(?:they|panels|it|the panels|solar panels|black panels) (?:look|looks|would look) (?:fine|good|great|nice|sleek|clean|sharp|ok|okay)\b|\bnot (?:ugly|an eyesore)\b|\b(?:aesthetics|looks|the look|appearance) (?:isn'?t|aren'?t|is not|are not|don'?t|doesn'?t) (?:an? )?(?:issue|problem|concern|matter|bother me)\b|\bnot (?:worried|concerned) about (?:the )?(?:look|looks|aesthetics|appearance)\b",
    ),
    (
        Obj(Aesthetics, Raise),
        r"\bugly\b|\beyesores?\b|\bunsightly\b|\bcurb appeal\b|\b(?:look|looks|would look|will look) (?:bad|terrible|awful|ugly|weird|strange|tacky|cheap|hideous)\b|\b(?:hate|dislike|don'?t love) (?:the )?(?:look|looks|appearance)\b|\b(?:worried|concerned|nervous|care|unsure|not sure) (?:about )?how (?:they|it|the panels|panels|solar)(?: look| looks| would look| will look| might look|'ll look)\b|\baesthetic(?:s|ally)?\b",
    ),
    // Moving
    (
        Obj(Moving, Block),
        r"\bmov(?:e|ing) (?:forward|ahead|on with (?:it|this)|quickly|fast)\b|\b(?:when|if|once) you sell\b",
    ),
    (
        Obj(Moving, Resolve),
        r"\bnot (?:planning|going|looking|thinking) (?:to|on|of|about) (?:move|moving|sell|selling|relocat[a-z]*|leave|leaving)\b|\bno (?:plans?|intention) (?:to|of|on) (?:move|moving|sell|selling|relocat[a-z]*|leave|leaving)\b|\b(?:not|never|no longer) (?:moving|selling|relocating|leaving)\b|\b(?:won'?t|will not|wouldn'?t|don'?t plan to|never) (?:ever )?(?:move|sell|leave|relocate)\b",
    ),
    (
        Obj(Moving, Resolve),
        r"\b(?:forever|long ?-?term) home\b|\bstaying (?:here|put|for (?:good|the long haul|a long time|decades|years))\b|\b(?:here|staying) for the long (?:haul|run|term)\b|\bretire here\b",
    ),
    (
        Obj(Moving, Raise),
        r"\b(?:might|may|could|will|going to|gonna|plan to|planning to|planning on|thinking (?:about|of)|considering|probably|likely) (?:be )?(?:move|moving|sell|selling|relocat[a-z]*|leave|leaving)\b|\bsell(?:ing)? (?:the|my|our) (?:house|home|place|property|brownstone|condo|apartment)\b",
    ),
    (
        Obj(Moving, Raise),
        r"\bmoving (?:in (?:a|the|[0-9]|two|three|few|couple)|out|away|next|soon|to|within|this|later|eventually)\b|\brelocat(?:e|ing|ion)\b|\bput (?:the|my|our) (?:house|home) (?:up )?(?:on the market|for sale)\b|\bwon'?t be (?:here|there) (?:long|much longer|forever|for long)\b|\bnot sure how long (?:we'?ll|we will|i'?ll|i will|we'?re|i'?m) (?:stay|be)\b|\bmight not (?:stay|be here)\b",
    ),
    // Trust
    (
        Obj(Trust, Resolve),
        r"\b(?:ok|okay|alright|yes|so|now),? i (?:trust|believe)\b|\bi (?:trust|believe) (?:you|that|this|it|y'?all|your)\b|\bnot (?:a |such a )?scam\b|\b(?:sounds|seems|looks) (?:legit|legitimate|trustworthy|reputable)\b|\breassur(?:ed|es|ing)\b|\bmakes me feel (?:better|more comfortable|safer)\b|\bfeel (?:better|more comfortable|comfortable|safer) (?:now|about (?:it|this|that|you))\b|\bnot pushy\b",
    ),
    (
        Obj(Trust, Raise),
        r"\bscam(?:s|mers?|my)?\b|\b(?:don'?t|do not|can'?t|cannot|hard to|never|not sure i|not sure if i) trust\b|\btoo good to be true\b|\bpushy\b|\bsales ?(?:m[ae]n|people|person|guys?|reps?|pitch(?:es)?)\b|\bskeptic(?:al)?\b|\bsceptic(?:al)?\b|\bsuspicious\b|\brip(?:ped)? ?-?off\b|\bfishy\b|\bsketchy\b|\bshady (?:company|companies|business|installers?|practices|salesm[ae]n|people|contractors?)\b|\bbad experience\b|\b(?:is|are) (?:this|you|it|they)(?: [a-z]+){0,3} (?:legit|legitimate|real|a real company)\b|\bhidden (?:fees|costs|charges)\b|\bfine print\b|\bwhat'?s the catch\b",
    ),
    // ---- acknowledgement -------------------------------------------------------------------
    (
        Ack(false),
        r"\b(?:doesn'?t|does not|don'?t|do not|didn'?t|did not|not sure (?:that|it)|not) (?:really |quite |totally )?(?:make (?:any |much )?sense|makes sense|help|helps|helpful)\b|\bdon'?t (?:get it|understand)\b",
    ),
    (
        Ack(true),
        r"\bmakes? (?:a lot of |total |perfect |more |some )?sense\b|\bgood to know\b|\b(?:ok|okay|oh|alright|all right|k) (?:great|cool|good|perfect|thanks|thank you|got it|i see|that helps|understood)\b|\b(?:that|this|it) (?:really )?helps?\b|\b(?:that'?s|that is|very|super|really) helpful\b|\bsounds (?:good|great|fair|reasonable|right|fine)\b",
    ),
    (
        Ack(true),
        r"\bgot it(?:[.!,]|$| thanks| thank you)|\bgotcha\b|\bi see(?:[.!,]|$)|\bunderstood(?:[.!,]|$)|\bfair enough\b|\bthanks? (?:you )?for (?:explaining|the (?:info|information|explanation|clarification)|clarifying)\b|\bthat (?:answers|clears up) (?:my|that|it)\b|\b(?:that'?s|that is) (?:reassuring|great to hear|good to hear)\b|\bgood point\b",
    ),
    // ---- contact consent: refusals first ---------------------------------------------------
    (
        Consent(false),
        r"\b(?:don'?t|do not|dont|never|no need to) (?:ever )?(?:call|text|email|e-mail|contact|share|sell|give out|give away|pass (?:on|along)|spam|message|phone|reach out to)\b|\bno (?:more )?(?:phone )?(?:calls?|texts?|emails?|sales calls?|spam)\b|\bstop (?:texting|calling|contacting|messaging|emailing|spamming|sending)\b",
    ),
    (
        Consent(false),
        r"^(?:stop|stop all|end|quit|cancel)[.!]?$|\bunsubscribe\b|\bopt ?-?out\b|\bremove me\b|\btake me off\b|\b(?:don'?t|do not) want (?:anyone|anybody|installers|people|salespeople|companies|any calls|to be (?:called|contacted))\b|\b(?:not comfortable|uncomfortable|rather not|prefer not to|won'?t) (?:sharing|giving|share|give|provide|providing) (?:my|out my|that)\b|\bkeep my (?:info|information|number|details|email|phone)(?: number)? private\b|\bleave me alone\b",
    ),
    (
        Consent(true),
        r"\b(?:don'?t|do not) mind (?:if )?(?:you |they |an installer |installers |someone )?(?:call|text|email|contact|reach|sharing|share|giving)",
    ),
    (
        Consent(true),
        r"\b(?:they|installers?|someone|an installer|somebody|the installer|one of them|your team|a rep) (?:can|may|could) (?:call|text|email|e-mail|contact|reach(?: out to)?|share|give|pass)\b|\byou (?:can|may|could) (?:share|give|pass)\b|\b(?:can|could|would|will) (?:you|someone|somebody|an installer|they) (?:please )?(?:call|text|email|contact|reach out to) me\b",
    ),
    (
        Consent(true),
        r"\b(?:ok|okay|fine|alright|happy|glad|willing) (?:for (?:you|them|installers) )?to (?:be )?(?:call|text|email|contact|share|pass|contacted|called|texted|emailed)|\bfeel free to (?:call|text|email|contact|reach|share|pass)\b|\bi (?:consent|agree to be contacted)\b|\bconsent (?:to|given)\b|\byou have my (?:consent|permission)\b",
    ),
    (
        Consent(true),
        r"\b(?:share|pass (?:along|on)|give|send) my (?:info|information|number|phone(?: number)?|details|contact(?: info| information| details)?|email) (?:with|to) (?:installers?|them|an installer|the installers?|whoever|someone|companies|a company)\b|\bhave (?:them|someone|an installer|installers|somebody|a rep|him|her) (?:call|contact|text|email|reach out)\b",
    ),
    (
        Consent(true),
        r"\byes,? (?:please )?(?:you can |go ahead and )?(?:call|text|email|contact|share)\b",
    ),
    // ---- sentiment phrases ---------------------------------------------------------------
    (Sent(-2), r"\bwaste of (?:my |our )?time\b"),
    (Sent(-2), r"\bleave me alone\b"),
    (Sent(-1), r"\bnot interested\b"),
    (Sent(-1), r"\bno thank(?:s| you)\b"),
    (Sent(2), r"\bcan'?t wait\b"),
    (Sent(2), r"\blooking forward\b"),
    (Sent(-1), r"\b(?:fed up|sick of|tired of)\b"),
    (Sent(1), r"\bthumbs up\b"),
    (Sent(-2), r"\btoo good to be true\b"),
];

/// Every rule in one automaton, asked only *which* rules match (never where), in one
/// forward pass. Built directly on `regex-automata` with nothing else: a `RegexSet`
/// also compiles a reverse automaton, prefilters and fallback engines, which tripled the
/// cold-start cost of the rules without serving this question.
struct RuleSet {
    dfa: hybrid::dfa::DFA,
    /// For the (never expected) case where the lazy DFA cannot answer.
    pike: PikeVM,
}

/// Room for the lazy DFA's states, per thread: the rules together make a large automaton,
/// and a full cache is cleared and refilled, never an error.
const RULE_DFA_CACHE: usize = 64 << 20;

static RULE_SET: LazyLock<RuleSet> = LazyLock::new(|| {
    RuleSet::new(&RULES.iter().map(|(_, p)| *p).collect::<Vec<_>>())
        .expect("extract: the phrase rule patterns are valid")
});

/// Builds the rules' automaton now (start-up) rather than on the first message.
pub(super) fn warm() {
    LazyLock::force(&RULE_SET);
}

/// Compiles `patterns` as the rules' `RegexBuilder::unicode(false)` would (ASCII classes
/// and `\b`; a pattern that could match invalid UTF-8 is refused) into one NFA without
/// captures.
fn compile_nfa(patterns: &[&str]) -> Result<NFA, String> {
    let config = syntax::Config::new().unicode(false);
    let hirs = patterns
        .iter()
        .map(|p| syntax::parse_with(p, &config).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    thompson::Compiler::new()
        .configure(thompson::Config::new().which_captures(thompson::WhichCaptures::None))
        .build_many_from_hir(&hirs)
        .map_err(|e| e.to_string())
}

/// The rules' NFA compiled ahead of time (see [`automaton`](super::automaton)).
const STORED_NFA: &[u8] = include_bytes!("../../../data/extract-rules.nfa");

/// The rules' NFA: the stored one when it was compiled from `patterns`, else compiled now.
fn rules_nfa(patterns: &[&str]) -> Result<NFA, String> {
    match automaton::decode(STORED_NFA, &automaton::digest(patterns)) {
        Ok(nfa) => Ok(nfa),
        Err(reason) => {
            tracing::warn!(%reason, "extract: stored phrase-rule automaton not used; compiling the rules");
            compile_nfa(patterns)
        }
    }
}

thread_local! {
    static RULE_CACHES: RefCell<Option<(hybrid::dfa::Cache, thompson::pikevm::Cache)>> =
        const { RefCell::new(None) };
}

impl RuleSet {
    /// Every pattern in one forward lazy DFA, which reports all the rules that match.
    fn new(patterns: &[&str]) -> Result<RuleSet, String> {
        let nfa = rules_nfa(patterns)?;
        let dfa = hybrid::dfa::DFA::builder()
            .configure(
                hybrid::dfa::Config::new()
                    .match_kind(MatchKind::All)
                    .cache_capacity(RULE_DFA_CACHE),
            )
            .build_from_nfa(nfa.clone())
            .map_err(|e| e.to_string())?;
        let pike = PikeVM::builder()
            .configure(PikeVM::config().match_kind(MatchKind::All))
            .build_from_nfa(nfa)
            .map_err(|e| e.to_string())?;
        Ok(RuleSet { dfa, pike })
    }

    /// The indices of the rules that match somewhere in `text`, ascending.
    fn matches(&self, text: &str) -> Vec<usize> {
        let input = Input::new(text);
        let mut set = PatternSet::new(self.dfa.pattern_len());
        RULE_CACHES.with_borrow_mut(|caches| {
            let (dfa_cache, pike_cache) =
                caches.get_or_insert_with(|| (self.dfa.create_cache(), self.pike.create_cache()));
            if self
                .dfa
                .try_which_overlapping_matches(dfa_cache, &input, &mut set)
                .is_err()
            {
                set.clear();
                self.pike
                    .which_overlapping_matches(pike_cache, &input, &mut set);
            }
        });
        set.iter().map(|p| p.as_usize()).collect()
    }
}

/// Applies every matching phrase rule; returns the phrase sentiment `(points, any)`.
pub(super) fn apply_rules(lower: &str, f: &mut MessageFacts) -> (i32, bool) {
    let matched = RULE_SET.matches(lower);

    let mut time_veto = [false; 6];
    let mut fin_veto = [false; 4];
    let mut subject_veto = [false; Subject::ALL.len()];
    let mut prop_veto = false;
    for &i in &matched {
        match RULES[i].0 {
            PropVeto => prop_veto = true,
            Act::TimeVeto(t) => time_veto[timeline_index(t)] = true,
            FinVeto(x) => fin_veto[financing_index(x)] = true,
            AsksVeto(t) => subject_veto[t as usize] = true,
            _ => {}
        }
    }
    let mut subjects = [false; Subject::ALL.len()];
    let mut props: Vec<usize> = Vec::new();

    let mut home_done = false;
    let mut quotes_done = false;
    let mut ack_done = false;
    let mut consent_done = false;
    let mut objections: [Option<ObjAct>; 5] = [None; 5];
    let mut topics = [false; 8];
    let mut sentiment = (0i32, false);
    for &i in &matched {
        match RULES[i].0 {
            Home(v) => {
                if !home_done {
                    home_done = true;
                    f.homeowner = v;
                }
            }
            Prop(_) => props.push(i),
            Time(t) => {
                if !time_veto[timeline_index(t)] {
                    f.timeline.get_or_insert(t);
                }
            }
            Decide(d) => {
                f.decision_maker.get_or_insert(d);
            }
            Fin(x) => {
                if !fin_veto[financing_index(x)] {
                    f.financing.get_or_insert(x);
                }
            }
            Credit(c) => {
                f.credit.get_or_insert(c);
            }
            Quotes(v) => {
                if !quotes_done {
                    quotes_done = true;
                    f.competing_quotes = v;
                }
            }
            Topic(t) => topics[topic_index(t)] = true,
            Obj(o, a) => {
                objections[objection_index(o)].get_or_insert(a);
            }
            Ack(v) => {
                if !ack_done {
                    ack_done = true;
                    f.acknowledges_answer = v;
                }
            }
            Consent(v) => {
                if !consent_done {
                    consent_done = true;
                    f.contact_consent = Some(v);
                }
            }
            Sent(v) => sentiment = (sentiment.0 + i32::from(v), true),
            Buying => f.buying_home = true,
            Asks(t) => subjects[t as usize] = !subject_veto[t as usize],
            AsksVeto(_) | PropVeto => {}
            Act::TimeVeto(_) | FinVeto(_) => {}
        }
    }
    if prop_veto && !props.is_empty() {
        let vetoed = veto_spans(lower, &matched);
        props.retain(|&i| {
            single(i)
                .find_iter(lower)
                .any(|m| !vetoed.iter().any(|&(s, e)| m.start() < e && s < m.end()))
        });
    }
    f.property_type = props.first().and_then(|&i| match RULES[i].0 {
        Prop(p) => Some(p),
        _ => None,
    });
    if props.len() > 1 && CORRECTION_RE.is_match(lower) {
        f.property_type = corrected_property(lower, &props).or(f.property_type);
    }
    f.technical_topics = TechnicalTopic::ALL
        .into_iter()
        .filter(|t| topics[topic_index(*t)])
        .collect();
    for o in Objection::ALL {
        match objections[objection_index(o)] {
            Some(Raise) => f.objections_raised.push(o),
            Some(Resolve) => f.objections_resolved.push(o),
            Some(Block) | None => {}
        }
    }
    for t in f.technical_topics.iter().map(|&t| Subject::from(t)) {
        subjects[t as usize] = true;
    }
    for o in f.objections_raised.iter().map(|&o| Subject::from(o)) {
        subjects[o as usize] = true;
    }
    f.topics = Subject::ALL
        .into_iter()
        .filter(|t| subjects[*t as usize])
        .collect();
    sentiment
}

/// Rule `i` on its own, to find where it matches. Only the rare paths need positions
/// (a veto, a correction), so each pattern is compiled the first time it is needed.
fn single(i: usize) -> &'static Regex {
    static SINGLE: LazyLock<Vec<OnceLock<Regex>>> =
        LazyLock::new(|| RULES.iter().map(|_| OnceLock::new()).collect());
    SINGLE[i].get_or_init(|| {
        RegexBuilder::new(RULES[i].1)
            .unicode(false)
            .build()
            .expect("extract: the phrase rule patterns are valid")
    })
}

/// Where the matched `PropVeto` rules match: home types named inside these spans are
/// someone else's, a past one or a kind of home asked about; one named elsewhere in the
/// message still counts ("my neighbour's house has solar, ours is a two-family").
fn veto_spans(lower: &str, matched: &[usize]) -> Vec<(usize, usize)> {
    matched
        .iter()
        .filter(|&&i| matches!(RULES[i].0, PropVeto))
        .flat_map(|&i| single(i).find_iter(lower).map(|m| (m.start(), m.end())))
        .collect()
}

/// "We own a condo... actually it's a co-op": of the home types named, the one mentioned
/// last after a correction.
fn corrected_property(lower: &str, props: &[usize]) -> Option<PropertyType> {
    let correction = CORRECTION_RE.find_iter(lower).last()?.end();
    props
        .iter()
        .filter_map(|&i| {
            let at = single(i).find_iter(lower).last()?.start();
            match RULES[i].0 {
                Prop(p) if at >= correction => Some((at, p)),
                _ => None,
            }
        })
        .max_by_key(|(at, _)| *at)
        .map(|(_, p)| p)
}

fn timeline_index(t: Timeline) -> usize {
    match t {
        Timeline::Immediate => 0,
        Timeline::WithinThreeMonths => 1,
        Timeline::WithinSixMonths => 2,
        Timeline::WithinYear => 3,
        Timeline::MoreThanYear => 4,
        Timeline::JustResearching => 5,
    }
}

fn financing_index(x: Financing) -> usize {
    match x {
        Financing::Cash => 0,
        Financing::Loan => 1,
        Financing::LeaseOrPpa => 2,
        Financing::Undecided => 3,
    }
}

fn topic_index(t: TechnicalTopic) -> usize {
    match t {
        TechnicalTopic::Inverters => 0,
        TechnicalTopic::Production => 1,
        TechnicalTopic::NetMetering => 2,
        TechnicalTopic::Batteries => 3,
        TechnicalTopic::Warranties => 4,
        TechnicalTopic::Panels => 5,
        TechnicalTopic::Permits => 6,
        TechnicalTopic::Maintenance => 7,
    }
}

fn objection_index(o: Objection) -> usize {
    match o {
        Objection::Cost => 0,
        Objection::Roof => 1,
        Objection::Aesthetics => 2,
        Objection::Moving => 3,
        Objection::Trust => 4,
    }
}
#[cfg(test)]
mod tests {
    use super::automaton;
    use crate::domain::extract::test_support::check;
    use crate::domain::facts::{
        CreditSignal, DecisionMaker, Financing, Objection, PropertyType as P, TechnicalTopic,
    };

    #[test]
    fn given_the_rule_patterns_when_compiled_then_the_stored_rule_automaton_is_that_nfa() {
        // GIVEN the rules' patterns, compiled now
        let patterns: Vec<&str> = super::RULES.iter().map(|(_, p)| *p).collect();
        let digest = automaton::digest(&patterns);
        let fresh = super::compile_nfa(&patterns).expect("the rules compile");
        let encoded = automaton::encode(&fresh, &digest).expect("the rules' NFA is storable");
        if std::env::var_os("AURUM_BLESS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/extract-rules.nfa");
            std::fs::write(path, &encoded).expect("data/extract-rules.nfa is writable");
            return;
        }
        // THEN the stored file is exactly their NFA, and it reads back state for state
        assert!(
            super::STORED_NFA == encoded.as_slice(),
            "data/extract-rules.nfa is out of date: AURUM_BLESS=1 cargo test -p aurum-shared --lib stored_rule_automaton"
        );
        let stored = automaton::decode(super::STORED_NFA, &digest).expect("it reads back");
        assert_eq!(stored.states(), fresh.states());
        assert_eq!(stored.start_unanchored(), fresh.start_unanchored());
    }

    #[test]
    fn given_patterns_the_stored_automaton_was_not_compiled_from_when_built_then_they_compile_and_match()
     {
        // GIVEN two patterns that are not the stored rules WHEN a rule set is built of them
        let set = super::RuleSet::new(&[r"\bsolar\b", r"\bpanels?\b"]).expect("they compile");
        // THEN it matches by them, not by the stored automaton
        assert_eq!(set.matches("solar panels on the roof"), vec![0, 1]);
        assert_eq!(set.matches("one panel"), vec![1]);
        assert!(set.matches("my electric bill").is_empty());
    }

    #[test]
    fn homeowner() {
        check(
            "homeowner",
            |f| f.homeowner,
            &[
                ("I own my home", Some(true)),
                ("we bought our house in 2015", Some(true)),
                ("Yes, homeowner here", Some(true)),
                ("my house gets a lot of sun", Some(true)),
                ("our brownstone has a flat roof", Some(true)),
                ("I'm not a renter, I own", Some(true)),
                ("we don't rent, we own the place outright", Some(true)),
                ("I rent out the top floor to tenants", Some(true)),
                (
                    "Yes, I own it. It's a two-family home in Astoria",
                    Some(true),
                ),
                ("I rent", Some(false)),
                ("I'm a renter in Bushwick", Some(false)),
                ("tenant here, is that ok?", Some(false)),
                ("my landlord would have to agree", Some(false)),
                ("I don't own", Some(false)),
                ("I do not own the place", Some(false)),
                ("we're renting right now", Some(false)),
                ("it's an apartment I rent", Some(false)),
                ("I’m not the homeowner", Some(false)),
                ("my parents own it", None),
                ("how much does solar cost?", None),
                // A noun, a possessive, a past tense, a fragment.
                ("owner of a 2 family here in astoria", Some(true)),
                ("it's ours, we paid it off", Some(true)),
                ("We have owned it since 2009", Some(true)),
                ("own a semi-detached in Midland Beach", Some(true)),
                ("Owner. Tottenville. 10307.", Some(true)),
                ("brownstone owner in Fort Greene", Some(true)),
                ("I'm leasing my apartment in Ridgewood", Some(false)),
                (
                    "we're in the process of buying, should close in 2 months",
                    Some(false),
                ),
                // Someone else's home, or a question about others, says nothing.
                ("asking for my mom, she owns the house", None),
                ("im not the owner, my uncle is", None),
                ("do renters qualify for anything?", None),
                ("do most homeowners in queens get solar?", None),
                ("the owner of the building won't allow it", None),
            ],
        );
    }

    #[test]
    fn given_a_message_raising_topics_when_extracting_then_each_topic_is_found() {
        use crate::domain::facts::Topic::*;
        check(
            "topics",
            |f| f.topics.clone(),
            &[
                ("how much does solar cost?", vec![Cost]),
                ("is it worth it?", vec![Payback]),
                ("what about the roof, it's flat", vec![Roof]),
                ("how long does installation take?", vec![InstallTime]),
                ("will it work in winter?", vec![Winter]),
                ("we want it done by this winter", vec![]),
                ("Should I lease or buy?", vec![Financing]),
                ("we'd lease it, no money down", vec![]),
                ("I rent in Bushwick", vec![Renters]),
                ("we're in a historic district", vec![Landmarks]),
            ],
        );
    }

    #[test]
    fn property_type() {
        check(
            "property_type",
            |f| f.property_type,
            &[
                ("single family home", Some(P::SingleFamily)),
                ("it's a detached house", Some(P::SingleFamily)),
                ("my house", Some(P::SingleFamily)),
                ("2 family in Queens", Some(P::MultiFamily)),
                ("a two-family home", Some(P::MultiFamily)),
                ("3-family house", Some(P::MultiFamily)),
                ("we have a duplex", Some(P::MultiFamily)),
                ("4 unit building I own", Some(P::MultiFamily)),
                ("multi-family", Some(P::MultiFamily)),
                ("townhouse in Harlem", Some(P::Townhouse)),
                ("our brownstone", Some(P::Townhouse)),
                ("it's a row house", Some(P::Townhouse)),
                ("limestone in Bed-Stuy", Some(P::Townhouse)),
                ("I have a condo", Some(P::Condo)),
                ("we're in a co-op", Some(P::Coop)),
                ("coop apartment", Some(P::Coop)),
                ("apartment", None),
                ("we own a condo... actually it's a co-op", Some(P::Coop)),
                ("we own a cape cod in Bayside Hills", Some(P::SingleFamily)),
                ("is a house or a condo better for solar", None),
                ("my neighbor owns a brownstone with panels", None),
            ],
        );
    }

    #[test]
    fn given_a_home_type_said_of_someone_elses_home_with_solar_when_extracting_then_the_type_is_unknown()
     {
        check(
            "property_type",
            |f| f.property_type,
            &[
                ("my cousin got solar on his house in Canarsie", None),
                ("my sister put panels on her brownstone", None),
                ("their two-family already has solar", None),
                ("my uncle's house has solar, works great", None),
                // The homeowner's own home, named elsewhere in the message, still counts.
                (
                    "my neighbor's house has solar and ours is a two-family",
                    Some(P::MultiFamily),
                ),
                (
                    "a friend got panels on her home, I have a condo",
                    Some(P::Condo),
                ),
            ],
        );
    }

    #[test]
    fn given_a_home_type_of_a_past_home_when_extracting_then_the_type_is_unknown() {
        check(
            "property_type",
            |f| f.property_type,
            &[
                ("we used to own a brownstone in Park Slope", None),
                ("I grew up in a two family", None),
                ("we sold our house and rent now", None),
                ("my old house had a better roof", None),
                (
                    "we sold the condo and bought a detached house",
                    Some(P::SingleFamily),
                ),
                (
                    "grew up in a co-op, now I own a townhouse",
                    Some(P::Townhouse),
                ),
            ],
        );
    }

    #[test]
    fn given_a_question_about_a_kind_of_home_when_extracting_then_the_type_is_unknown() {
        check(
            "property_type",
            |f| f.property_type,
            &[
                ("are co-ops allowed to get solar?", None),
                ("can a townhouse share panels with the next one?", None),
                ("do condo boards usually say yes?", None),
                ("what about brownstones, is the roof ok?", None),
                ("how do two-families split the credit?", None),
                // A question about the homeowner's own home, or a statement, still counts.
                ("does my condo qualify?", Some(P::Condo)),
                ("we are a two-family in Ridgewood", Some(P::MultiFamily)),
                (
                    "Do you guys do co-ops? Our building is a co-op.",
                    Some(P::Coop),
                ),
            ],
        );
    }

    #[test]
    fn given_family_members_when_extracting_then_they_are_not_a_two_family_house() {
        check(
            "property_type",
            |f| f.property_type,
            &[
                ("two family members of mine have solar", None),
                (
                    "three family members live in our cape",
                    Some(P::SingleFamily),
                ),
                ("we own a 2 family", Some(P::MultiFamily)),
            ],
        );
    }

    #[test]
    fn given_a_renter_whose_relative_owns_a_house_when_extracting_then_the_renter_has_no_home_type()
    {
        check(
            "homeowner and property_type",
            |f| (f.homeowner, f.property_type),
            &[
                (
                    "my apartment is a rental, my dad owns a two family in Corona",
                    (Some(false), None),
                ),
                (
                    "we live in a rental but my aunt owns a house",
                    (Some(false), None),
                ),
                ("our place is a rental", (Some(false), None)),
            ],
        );
    }

    #[test]
    fn decision_maker() {
        use DecisionMaker::*;
        check(
            "decision_maker",
            |f| f.decision_maker,
            &[
                ("it's my decision", Some(Sole)),
                ("I make the decisions here", Some(Sole)),
                ("I own it myself", Some(Sole)),
                ("my wife and I", Some(Joint)),
                ("need to discuss with my husband", Some(Joint)),
                ("we decide together", Some(Joint)),
                ("I'm a co-owner with my brother", Some(Joint)),
                ("my parents own it", Some(Influencer)),
                ("I have to convince my partner", Some(Influencer)),
                ("we'd need board approval", Some(Influencer)),
                ("it's not my decision", Some(Influencer)),
                (
                    "asking for my mom, she owns the house and makes the decisions",
                    Some(Influencer),
                ),
                (
                    "i live with my parents, they own the house",
                    Some(Influencer),
                ),
                ("it's my grandma's", Some(Influencer)),
                ("i own a house with my brother", Some(Joint)),
                ("the house is mine, just me on the deed", Some(Sole)),
            ],
        );
    }

    #[test]
    fn financing_and_credit() {
        use CreditSignal::*;
        use Financing::*;
        check(
            "financing",
            |f| f.financing,
            &[
                ("we'd pay cash", Some(Cash)),
                ("I can pay upfront", Some(Cash)),
                ("we'd buy it outright", Some(Cash)),
                ("I'd want a solar loan", Some(Loan)),
                ("We'd probably finance it with a solar loan", Some(Loan)),
                ("maybe a HELOC", Some(Loan)),
                ("I'd rather lease", Some(LeaseOrPpa)),
                ("is a ppa an option", Some(LeaseOrPpa)),
                ("power purchase agreement", Some(LeaseOrPpa)),
                ("only if it's $0 down", Some(LeaseOrPpa)),
                ("not sure how to pay for it", Some(Undecided)),
                ("I don't want a lease, I'll pay cash", Some(Cash)),
                ("no loans, I'd rather lease", Some(LeaseOrPpa)),
                ("we own the house outright", None),
                (
                    "We'd like to do a lease or a PPA, not buy",
                    Some(LeaseOrPpa),
                ),
                ("I'm leasing my apartment", None),
                ("what about loans", None),
                ("my sister has a lease with sunrun", None),
                ("what about a loan vs paying cash", Some(Undecided)),
            ],
        );
        check(
            "credit",
            |f| f.credit,
            &[
                ("excellent credit", Some(Strong)),
                ("our credit is excellent", Some(Strong)),
                ("good credit", Some(Strong)),
                ("credit score is 780", Some(Strong)),
                ("we're pre-approved", Some(Strong)),
                ("my credit isn't bad", Some(Strong)),
                ("bad credit unfortunately", Some(Weak)),
                ("poor credit", Some(Weak)),
                ("went through bankruptcy", Some(Weak)),
                ("credit score is 550", Some(Weak)),
                ("my credit is not great", Some(Weak)),
                ("credit score is 650", None),
            ],
        );
    }

    #[test]
    fn competing_quotes() {
        check(
            "competing_quotes",
            |f| f.competing_quotes,
            &[
                ("got a quote from Sunrun", Some(true)),
                ("I'm comparing quotes", Some(true)),
                ("talked to another installer last week", Some(true)),
                ("already have 2 quotes", Some(true)),
                (
                    "We got one quote from another installer already",
                    Some(true),
                ),
                ("they quoted me 30k", Some(true)),
                ("haven't talked to anyone else", Some(false)),
                ("no other quotes", Some(false)),
                ("can I get a quote?", None),
                (
                    "We have an 8kw system quote for $28k from Sunrun",
                    Some(true),
                ),
            ],
        );
    }

    #[test]
    fn technical_topics() {
        use TechnicalTopic::*;
        check(
            "technical_topics",
            |f| f.technical_topics.clone(),
            &[
                (
                    "What kind of inverters do you use? Microinverters or a string inverter?",
                    vec![Inverters],
                ),
                ("enphase or solaredge?", vec![Inverters]),
                ("how many kwh would it produce", vec![Production]),
                (
                    "Does net metering still work with Con Edison?",
                    vec![NetMetering],
                ),
                ("can I sell power back to the grid", vec![NetMetering]),
                (
                    "What about a battery like a Powerwall for outages?",
                    vec![Batteries],
                ),
                ("What warranty comes with the panels?", vec![Warranties]),
                ("are they monocrystalline? tier 1?", vec![Panels]),
                (
                    "do I need a permit? we're in a landmark district",
                    vec![Permits],
                ),
                ("what about snow and cleaning", vec![Maintenance]),
                (
                    "inverter warranty and battery backup",
                    vec![Inverters, Batteries, Warranties],
                ),
                ("hi there", vec![]),
            ],
        );
    }

    #[test]
    fn objections() {
        use Objection::*;
        check(
            "objections_raised",
            |f| f.objections_raised.clone(),
            &[
                ("it's too expensive", vec![Cost]),
                ("I can't afford that", vec![Cost]),
                ("the upfront cost worries me", vec![Cost]),
                (
                    "I'm a bit worried about the cost, it sounds expensive",
                    vec![Cost],
                ),
                ("how much does it cost?", vec![]),
                ("my roof is old", vec![Roof]),
                ("the roof needs replacing", vec![Roof]),
                ("there's a lot of shade from trees", vec![Roof]),
                ("our flat roof leaks", vec![Roof]),
                ("panels are ugly", vec![Aesthetics]),
                ("I don't like how panels look", vec![Aesthetics]),
                ("we might move", vec![Moving]),
                ("we're selling the house next year", vec![Moving]),
                ("moving in a few years", vec![Moving]),
                ("sounds like a scam", vec![Trust]),
                ("sounds too good to be true", vec![Trust]),
                ("I don't trust pushy salesmen", vec![Trust]),
                ("we're ready to move forward", vec![]),
                ("not too expensive", vec![]),
            ],
        );
        check(
            "objections_resolved",
            |f| f.objections_resolved.clone(),
            &[
                ("cost isn't an issue anymore", vec![Cost]),
                ("that makes the cost work", vec![Cost]),
                ("roof was replaced last year", vec![Roof]),
                ("we have a new roof", vec![Roof]),
                (
                    "Is the roof going to be a problem? It was replaced in 2019",
                    vec![Roof],
                ),
                ("not planning to move", vec![Moving]),
                ("ok I trust that", vec![Trust]),
                ("I don't mind how they look", vec![Aesthetics]),
                ("we need a new roof", vec![]),
            ],
        );
    }

    #[test]
    fn acknowledgement() {
        check(
            "acknowledges_answer",
            |f| f.acknowledges_answer,
            &[
                ("OK that makes sense", true),
                ("good to know", true),
                ("ok great", true),
                ("that helps, thanks", true),
                ("Sounds good, I'm excited about this", true),
                ("got it.", true),
                ("that doesn't make sense", false),
                ("not sure that helps", false),
                ("I see panels on my neighbor's roof", false),
            ],
        );
    }
    #[test]
    fn given_a_consent_phrase_when_extracting_then_refusals_beat_agreement() {
        check(
            "contact_consent",
            |f| f.contact_consent,
            &[
                ("yes you can call me", Some(true)),
                ("ok to contact me", Some(true)),
                ("you can share my info with installers", Some(true)),
                ("I consent", Some(true)),
                ("sure, have them call", Some(true)),
                ("yes, text me", Some(true)),
                (
                    "Yes, you can share my info with an installer and have them call me",
                    Some(true),
                ),
                ("don't call me", Some(false)),
                ("do not share my number", Some(false)),
                ("no calls please", Some(false)),
                ("stop texting", Some(false)),
                ("STOP", Some(false)),
                ("yes", None),
                ("call me Alex", None),
                ("you can reach me at (718) 555-0142", None),
                ("call me at 917-555-0199", None),
            ],
        );
    }
}

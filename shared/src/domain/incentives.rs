//! Incentives with effective dates, parsed once from `data/incentives.json`.
//!
//! The chat agent never states an incentive from memory: it cites [`Incentive::claim`]
//! only for incentives in effect on the date it is given (time is always passed in).

use super::facts::Financing;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::sync::LazyLock;

const INCENTIVES_JSON: &str = include_str!("../../data/incentives.json");

// Holds the error rather than panicking: `domain::init()` reports it once, at start-up.
static INCENTIVES: LazyLock<Result<Vec<Incentive>, IncentiveError>> =
    LazyLock::new(|| parse(INCENTIVES_JSON));

/// The table shipped with the crate (parsed on first use), or why it could not be loaded.
pub fn try_incentives() -> Result<&'static [Incentive], &'static IncentiveError> {
    INCENTIVES.as_deref()
}

/// The whole table, in file order. Empty if the embedded table is invalid: the agent then
/// cites nothing, the one safe fallback for dated claims (`domain::init()` stops start-up
/// on that error, so a deployed function never runs this way).
pub fn incentives() -> &'static [Incentive] {
    try_incentives().unwrap_or(&[])
}

/// One incentive by id.
pub fn incentive(id: &str) -> Option<&'static Incentive> {
    incentives().iter().find(|i| i.id == id)
}

#[derive(Debug, thiserror::Error)]
pub enum IncentiveError {
    #[error("incentive table is not valid JSON for its schema: {0}")]
    Json(#[from] serde_json::Error),
    #[error("incentive table is inconsistent: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jurisdiction {
    Federal,
    State,
    City,
    Utility,
}

/// How the homeowner would pay for the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    Purchase,
    Loan,
    LeaseOrPpa,
}

impl Ownership {
    /// `None` when the homeowner has not decided.
    pub fn from_financing(f: Financing) -> Option<Ownership> {
        match f {
            Financing::Cash => Some(Ownership::Purchase),
            Financing::Loan => Some(Ownership::Loan),
            Financing::LeaseOrPpa => Some(Ownership::LeaseOrPpa),
            Financing::Undecided => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incentive {
    pub id: String,
    pub name: String,
    pub jurisdiction: Jurisdiction,
    pub applies_to: Vec<Ownership>,
    pub effective_from: NaiveDate,
    /// Last day (inclusive) the incentive may be cited; `None` = no known end.
    pub effective_until: Option<NaiveDate>,
    /// (month, day) of a yearly filing deadline, written "MM-DD" in the file.
    #[serde(with = "month_day")]
    pub annual_application_deadline: Option<(u32, u32)>,
    /// The sentence the agent may say, as written.
    pub claim: String,
    /// Said when a deadline is near; `{days}` and `{date}` are filled by [`Incentive::urgency_text`].
    pub urgency_claim: Option<String>,
    pub source: String,
    pub confidence: String,
    #[serde(default)]
    pub note: Option<String>,
}

impl Incentive {
    /// Inside `[effective_from, effective_until]`, both inclusive.
    pub fn is_in_effect(&self, on: NaiveDate) -> bool {
        on >= self.effective_from && self.effective_until.is_none_or(|end| on <= end)
    }

    /// Days from `on` to the last effective day (0 on that day, negative once past);
    /// `None` when there is no known end.
    pub fn days_until_end(&self, on: NaiveDate) -> Option<i64> {
        self.effective_until.map(|end| (end - on).num_days())
    }

    /// Whether this way of paying qualifies; `None` (undecided) qualifies for any.
    pub fn applies_to_ownership(&self, ownership: Option<Ownership>) -> bool {
        ownership.is_none_or(|o| self.applies_to.contains(&o))
    }

    /// The next yearly filing deadline on or after `on` (29 February falls back to the
    /// 28th in other years).
    pub fn next_annual_deadline(&self, on: NaiveDate) -> Option<NaiveDate> {
        let (month, day) = self.annual_application_deadline?;
        let in_year = |y: i32| {
            NaiveDate::from_ymd_opt(y, month, day)
                .or_else(|| NaiveDate::from_ymd_opt(y, month, day.saturating_sub(1)))
        };
        match in_year(on.year()) {
            Some(d) if d >= on => Some(d),
            _ => in_year(on.year() + 1),
        }
    }

    /// The nearest deadline on or after `on` while the incentive is in effect: its end
    /// date or its next yearly filing deadline, whichever comes first.
    pub fn next_deadline(&self, on: NaiveDate) -> Option<NaiveDate> {
        if !self.is_in_effect(on) {
            return None;
        }
        match (self.effective_until, self.next_annual_deadline(on)) {
            (Some(end), Some(annual)) => Some(end.min(annual)),
            (end, annual) => end.or(annual),
        }
    }

    /// The urgency sentence for `on`, with `{days}` and `{date}` ("March 15, 2027") filled
    /// from [`Incentive::next_deadline`]; `None` when not in effect or there is none.
    ///
    /// Every turn asks for the same sentence on the same day: the last one is kept per
    /// thread (the table never changes after it is parsed).
    pub fn urgency_text(&self, on: NaiveDate) -> Option<String> {
        type Said = (*const Incentive, NaiveDate, Option<String>);
        thread_local! {
            static LAST: RefCell<Option<Said>> = const { RefCell::new(None) };
        }
        let me: *const Incentive = self;
        LAST.with_borrow_mut(|last| match last {
            Some((who, day, text)) if std::ptr::eq(*who, me) && *day == on => text.clone(),
            _ => {
                let text = self.fill_urgency(on);
                *last = Some((me, on, text.clone()));
                text
            }
        })
    }

    fn fill_urgency(&self, on: NaiveDate) -> Option<String> {
        let template = self.urgency_claim.as_deref()?;
        let deadline = self.next_deadline(on)?;
        let days = (deadline - on).num_days();
        let mut text = template.to_owned();
        if text.contains("{days}") {
            text = text.replace("{days}", &days.to_string());
        }
        if text.contains("{date}") {
            text = text.replace("{date}", &long_date(deadline));
        }
        Some(text)
    }
}

/// "March 15, 2027" (what `format("%B %-d, %Y")` writes, without parsing the format).
fn long_date(d: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    format!(
        "{} {}, {:04}",
        MONTHS[d.month0() as usize],
        d.day(),
        d.year()
    )
}

/// Incentives the agent may cite on this date (in their window), in table order.
pub fn citable(on: NaiveDate) -> impl Iterator<Item = &'static Incentive> {
    citable_for(on, None)
}

/// [`citable`], filtered by how the homeowner would pay (`None` = not known: all).
pub fn citable_for(
    on: NaiveDate,
    ownership: Option<Ownership>,
) -> impl Iterator<Item = &'static Incentive> {
    incentives()
        .iter()
        .filter(move |i| i.is_in_effect(on) && i.applies_to_ownership(ownership))
}

/// The nearest future deadline among incentives in effect on `on` (end date, or the next
/// annual application deadline), with days left (0 = today) — feeds market-timing urgency.
pub fn next_deadline(on: NaiveDate) -> Option<(&'static Incentive, NaiveDate, i64)> {
    next_deadline_for(on, None)
}

/// [`next_deadline`] among the incentives that apply to this way of paying.
///
/// Scoring asks this for the same day many times a turn (once per probe of the next
/// question), and the table never changes after it is parsed, so the last answer is kept
/// per thread.
pub fn next_deadline_for(
    on: NaiveDate,
    ownership: Option<Ownership>,
) -> Option<(&'static Incentive, NaiveDate, i64)> {
    type Deadline = Option<(&'static Incentive, NaiveDate, i64)>;
    thread_local! {
        static LAST: Cell<Option<(NaiveDate, Option<Ownership>, Deadline)>> =
            const { Cell::new(None) };
    }
    if let Some((day, own, found)) = LAST.get()
        && day == on
        && own == ownership
    {
        return found;
    }
    let found = scan_deadlines(on, ownership);
    LAST.set(Some((on, ownership, found)));
    found
}

fn scan_deadlines(
    on: NaiveDate,
    ownership: Option<Ownership>,
) -> Option<(&'static Incentive, NaiveDate, i64)> {
    citable_for(on, ownership)
        .filter_map(|i| i.next_deadline(on).map(|d| (i, d, (d - on).num_days())))
        .min_by_key(|&(_, d, _)| d)
}

#[derive(Deserialize)]
struct IncentiveFile {
    incentives: Vec<Incentive>,
}

/// Parses and checks an incentive table (unique ids, sane windows and deadlines).
pub fn parse(json: &str) -> Result<Vec<Incentive>, IncentiveError> {
    let file: IncentiveFile = serde_json::from_str(json)?;
    let mut ids = HashSet::new();
    for i in &file.incentives {
        let bad = |what: &str| Err(IncentiveError::Invalid(format!("{}: {what}", i.id)));
        if !ids.insert(i.id.as_str()) {
            return bad("duplicate id");
        }
        if i.applies_to.is_empty() {
            return bad("applies_to is empty");
        }
        if i.effective_until.is_some_and(|end| end < i.effective_from) {
            return bad("effective_until before effective_from");
        }
        if i.claim.trim().is_empty() || i.source.trim().is_empty() || i.confidence.trim().is_empty()
        {
            return bad("claim, source and confidence are required");
        }
    }
    Ok(file.incentives)
}

/// `"MM-DD"` ⇄ `Option<(month, day)>`.
mod month_day {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(value: &Option<(u32, u32)>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some((m, d)) => s.serialize_str(&format!("{m:02}-{d:02}")),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<(u32, u32)>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        parse(&text)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected \"MM-DD\", got {text:?}")))
    }

    pub(super) fn parse(text: &str) -> Option<(u32, u32)> {
        let (m, d) = text.split_once('-')?;
        if m.len() != 2 || d.len() != 2 {
            return None;
        }
        let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
        // 2024 is a leap year, so 02-29 is accepted.
        chrono::NaiveDate::from_ymd_opt(2024, m, d).map(|_| (m, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn citable_ids(on: NaiveDate) -> Vec<&'static str> {
        citable(on).map(|i| i.id.as_str()).collect()
    }

    #[test]
    fn given_embedded_table_then_it_parses_with_sources_and_dates() {
        let all = parse(INCENTIVES_JSON).expect("embedded incentive table parses");
        assert_eq!(all.len(), incentives().len());
        assert!(all.len() >= 5);
        for i in incentives() {
            assert!(!i.source.is_empty() && !i.confidence.is_empty(), "{}", i.id);
            assert!(i.effective_until.is_none_or(|end| end >= i.effective_from));
        }
        let fed = incentive("federal_25d").expect("25D in the table");
        assert_eq!(fed.effective_until, Some(date(2025, 12, 31)));
        assert_eq!(fed.jurisdiction, Jurisdiction::Federal);
        let nyc =
            incentive("nyc_solar_property_tax_abatement").expect("NYC abatement in the table");
        assert_eq!(nyc.annual_application_deadline, Some((3, 15)));
        assert_eq!(nyc.effective_from, date(2024, 1, 1));
        let nys = incentive("nys_solar_equipment_credit").expect("NYS credit in the table");
        assert!(nys.claim.contains("25%") && nys.claim.contains("$5,000"));
        assert_eq!(nys.effective_until, None);
    }

    #[test]
    fn given_federal_25d_when_dated_then_citable_only_through_2025() {
        // GIVEN the federal 25D credit WHEN asked in mid-2025 THEN it may be cited…
        assert!(citable_ids(date(2025, 6, 1)).contains(&"federal_25d"));
        assert!(citable_ids(date(2025, 12, 31)).contains(&"federal_25d"));
        // …and never after it ended.
        assert!(!citable_ids(date(2026, 1, 1)).contains(&"federal_25d"));
        assert!(!citable_ids(date(2026, 11, 24)).contains(&"federal_25d"));
        let fed = incentive("federal_25d").expect("25D");
        assert_eq!(fed.days_until_end(date(2025, 12, 1)), Some(30));
        assert_eq!(fed.days_until_end(date(2026, 1, 1)), Some(-1));
    }

    #[test]
    fn given_nyc_abatement_when_dated_then_citable_2024_through_2034() {
        assert!(citable_ids(date(2026, 11, 24)).contains(&"nyc_solar_property_tax_abatement"));
        assert!(!citable_ids(date(2035, 1, 1)).contains(&"nyc_solar_property_tax_abatement"));
        assert!(!citable_ids(date(2023, 12, 31)).contains(&"nyc_solar_property_tax_abatement"));
    }

    #[test]
    fn given_lease_only_credit_when_filtering_by_ownership_then_only_leases_see_it() {
        let on = date(2026, 11, 24);
        let lease: Vec<_> = citable_for(on, Some(Ownership::LeaseOrPpa))
            .map(|i| i.id.as_str())
            .collect();
        let cash: Vec<_> = citable_for(on, Some(Ownership::Purchase))
            .map(|i| i.id.as_str())
            .collect();
        assert!(lease.contains(&"federal_48e_lease_ppa"));
        assert!(!cash.contains(&"federal_48e_lease_ppa"));
        assert!(cash.contains(&"nys_solar_equipment_credit"));
        assert!(!citable_ids(date(2028, 1, 1)).contains(&"federal_48e_lease_ppa"));
        assert_eq!(
            Ownership::from_financing(Financing::Cash),
            Some(Ownership::Purchase)
        );
        assert_eq!(Ownership::from_financing(Financing::Undecided), None);
    }

    #[test]
    fn given_late_2026_when_asking_next_deadline_then_it_is_the_march_15_filing() {
        let on = date(2026, 11, 24);
        let (inc, when, days) = next_deadline(on).expect("a deadline ahead");
        assert!(when > on, "future date");
        assert_eq!(days, (when - on).num_days());
        assert!(inc.is_in_effect(on));
        assert_eq!(inc.id, "nyc_solar_property_tax_abatement");
        assert_eq!(when, date(2027, 3, 15));
        assert_eq!(days, 111);
        let text = inc.urgency_text(on).expect("urgency sentence");
        assert!(
            text.contains("March 15, 2027") && text.contains("111 days"),
            "{text}"
        );
        assert!(!text.contains('{'));
        // A lease does not get the NYC abatement (per the table), so the 48E end is nearest.
        let (lease_inc, _, _) =
            next_deadline_for(on, Some(Ownership::LeaseOrPpa)).expect("lease deadline");
        assert_eq!(lease_inc.id, "federal_48e_lease_ppa");
    }

    #[test]
    fn given_december_2025_when_asking_next_deadline_then_25d_end_is_nearest() {
        let (inc, when, days) = next_deadline(date(2025, 12, 1)).expect("deadline");
        assert_eq!(
            (inc.id.as_str(), when, days),
            ("federal_25d", date(2025, 12, 31), 30)
        );
        // On the filing day itself the deadline is today (0 days), not next year.
        let (inc, when, days) = next_deadline(date(2027, 3, 15)).expect("deadline");
        assert_eq!(
            (inc.id.as_str(), when, days),
            ("nyc_solar_property_tax_abatement", date(2027, 3, 15), 0)
        );
        assert!(
            incentive("federal_25d").is_some_and(|i| i.urgency_text(date(2026, 1, 2)).is_none())
        );
    }

    #[test]
    fn given_any_day_when_written_long_then_it_reads_as_the_chrono_format() {
        let mut d = date(2024, 1, 1);
        while d < date(2036, 1, 1) {
            assert_eq!(long_date(d), d.format("%B %-d, %Y").to_string());
            d = d.succ_opt().expect("next day");
        }
    }

    #[test]
    fn given_days_asked_in_any_order_when_finding_the_next_deadline_then_each_answer_is_that_days()
    {
        let key = |x: Option<(&Incentive, NaiveDate, i64)>| x.map(|(i, d, n)| (i.id.clone(), d, n));
        let days = [
            date(2025, 12, 1),
            date(2027, 3, 15),
            date(2025, 12, 1),
            date(2030, 6, 1),
        ];
        for on in days.into_iter().chain(days) {
            for own in [None, Some(Ownership::Purchase), Some(Ownership::LeaseOrPpa)] {
                assert_eq!(
                    key(next_deadline_for(on, own)),
                    key(scan_deadlines(on, own))
                );
                assert_eq!(
                    key(next_deadline_for(on, own)),
                    key(scan_deadlines(on, own))
                );
            }
        }
    }

    #[test]
    fn given_days_asked_in_any_order_when_writing_the_urgency_then_each_text_is_that_days() {
        let days = [
            date(2025, 12, 1),
            date(2026, 2, 1),
            date(2025, 12, 1),
            date(2027, 3, 1),
        ];
        for on in days.into_iter().chain(days) {
            for i in incentives() {
                assert_eq!(i.urgency_text(on), i.fill_urgency(on), "{} {on}", i.id);
            }
        }
    }

    #[test]
    fn given_month_day_text_then_only_valid_dates_parse() {
        assert_eq!(month_day::parse("03-15"), Some((3, 15)));
        assert_eq!(month_day::parse("02-29"), Some((2, 29)));
        for bad in ["3-15", "13-01", "02-30", "0315", "", "aa-bb"] {
            assert_eq!(month_day::parse(bad), None, "{bad}");
        }
        let bad_table = r#"{"incentives":[{"id":"x","name":"x","jurisdiction":"city","applies_to":["purchase"],
            "effective_from":"2024-01-01","effective_until":"2023-01-01","annual_application_deadline":null,
            "claim":"c","urgency_claim":null,"source":"s","confidence":"L"}]}"#;
        assert!(matches!(parse(bad_table), Err(IncentiveError::Invalid(_))));
    }
}

//! A buyer's terms as people write them: the buyer file's `[[buyer]]` tables and the sales
//! console's form (the same fields, money in cents, hours as `HH:MM`). [`BuyerTerms::into_buyer`]
//! checks every field and names the first bad one; [`BuyerTerms::of`] writes a buyer back
//! in this form, without its secret.

use super::buyer::{
    Buyer, BuyerError, BuyerId, BuyerTier, Hours, LeadFilters, PingPost, ServiceArea, WebhookSecret,
};
use super::conversation::ZipCode;
use super::facts::{Borough, PropertyType};
use super::money::Cents;
use super::scoring::QualityTier;
use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Every term of one buyer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyerTerms {
    /// `[a-z0-9_-]{1,64}`.
    pub id: String,
    /// The legal name the consent question shows the homeowner.
    pub name: String,
    pub tier: BuyerTier,
    pub price_floor_cents: i64,
    pub price_cap_cents: i64,
    /// Leads per day in the buyer's time zone.
    pub daily_cap: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_spend_cap_cents: Option<i64>,
    #[serde(default)]
    pub zips: Vec<String>,
    #[serde(default)]
    pub boroughs: Vec<Borough>,
    pub min_quality: QualityTier,
    /// IANA time zone of its hours and caps.
    #[serde(default = "new_york")]
    pub timezone: String,
    /// `mon` … `sun`.
    #[serde(default = "every_day")]
    pub days: Vec<String>,
    /// `HH:MM`; `open == close` means all day.
    #[serde(default = "midnight")]
    pub open: String,
    #[serde(default = "midnight")]
    pub close: String,
    pub webhook_url: String,
    /// Only in a buyer file. The console never takes or shows one: a new buyer's secret is
    /// generated and shown once, and a rotation makes the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub secret: Option<String>,
    #[serde(default = "seven")]
    pub return_window_days: u16,
    #[serde(default = "yes")]
    pub active: bool,
    /// A ping-post buyer's ping URL: it bids per lead, its price is its bid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_url: Option<String>,
    /// How long it has to bid, in milliseconds (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_deadline_ms: Option<u32>,
    /// The property types it takes; empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub property_types: Vec<PropertyType>,
    /// The lowest monthly electric bill it takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_monthly_bill_cents: Option<i64>,
    /// It takes no co-operative apartments.
    #[serde(default)]
    pub exclude_coops: bool,
}

fn new_york() -> String {
    "America/New_York".into()
}
fn every_day() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .map(String::from)
        .to_vec()
}
fn midnight() -> String {
    "00:00".into()
}
fn seven() -> u16 {
    7
}
fn yes() -> bool {
    true
}

fn weekday(raw: &str) -> Option<Weekday> {
    Some(match raw.to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

impl BuyerTerms {
    /// The buyer these terms describe, signing with `secret`, validated
    /// ([`Buyer::validate`]); the first bad field is named.
    pub fn into_buyer(self, secret: WebhookSecret) -> Result<Buyer, BuyerError> {
        let name = self.id.clone();
        let fail = |field: &'static str, reason: String| BuyerError {
            buyer: name.clone(),
            field,
            reason,
        };
        let id = BuyerId::parse(&self.id).map_err(|r| fail("id", r))?;
        let zips = self
            .zips
            .iter()
            .map(|z| ZipCode::parse(z))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|r| fail("service_area.zips", r))?;
        let timezone: chrono_tz::Tz = self.timezone.parse().map_err(|_| {
            fail(
                "timezone",
                format!("{:?} is not an IANA time zone", self.timezone),
            )
        })?;
        let mut days = Vec::new();
        for d in &self.days {
            let day = weekday(d).ok_or_else(|| fail("days", format!("{d:?} is not a weekday")))?;
            if !days.contains(&day) {
                days.push(day);
            }
        }
        let time = |field: &'static str, raw: &str| {
            NaiveTime::parse_from_str(raw, "%H:%M")
                .map_err(|_| fail(field, format!("{raw:?} is not HH:MM")))
        };
        if let Some(min) = self.min_monthly_bill_cents
            && !(1..=10_000_000).contains(&min)
        {
            return Err(fail(
                "min_monthly_bill_cents",
                "must be 1 to 10000000 cents".into(),
            ));
        }
        let buyer = Buyer {
            id,
            name: self.name,
            tier: self.tier,
            price_floor: Cents(self.price_floor_cents),
            price_cap: Cents(self.price_cap_cents),
            daily_cap: self.daily_cap,
            monthly_spend_cap: self.monthly_spend_cap_cents.map(Cents),
            area: ServiceArea {
                zips,
                boroughs: self.boroughs.into_iter().collect(),
            },
            min_quality: self.min_quality,
            hours: Hours {
                timezone,
                days,
                open: time("open", &self.open)?,
                close: time("close", &self.close)?,
            },
            webhook_url: self.webhook_url,
            secret,
            return_window_days: self.return_window_days,
            active: self.active,
            ping_post: self.ping_url.map(|ping_url| PingPost {
                ping_url,
                deadline_ms: self
                    .ping_deadline_ms
                    .unwrap_or(PingPost::DEFAULT_DEADLINE_MS),
            }),
            filters: LeadFilters {
                property_types: self.property_types.into_iter().collect(),
                min_monthly_bill: self.min_monthly_bill_cents.map(Cents),
                exclude_coops: self.exclude_coops,
            },
            pause: None,
            previous_secrets: Vec::new(),
            version: 0,
        };
        buyer.validate()?;
        Ok(buyer)
    }

    /// A buyer's terms as the form shows them: no secret.
    pub fn of(buyer: &Buyer) -> BuyerTerms {
        let hhmm = |t: NaiveTime| t.format("%H:%M").to_string();
        BuyerTerms {
            id: buyer.id.to_string(),
            name: buyer.name.clone(),
            tier: buyer.tier,
            price_floor_cents: buyer.price_floor.0,
            price_cap_cents: buyer.price_cap.0,
            daily_cap: buyer.daily_cap,
            monthly_spend_cap_cents: buyer.monthly_spend_cap.map(|c| c.0),
            zips: buyer
                .area
                .zips
                .iter()
                .map(|z| z.as_str().to_owned())
                .collect(),
            boroughs: buyer.area.boroughs.iter().copied().collect(),
            min_quality: buyer.min_quality,
            timezone: buyer.hours.timezone.name().to_owned(),
            days: buyer
                .hours
                .days
                .iter()
                .map(|d| day_name(*d).to_owned())
                .collect(),
            open: hhmm(buyer.hours.open),
            close: hhmm(buyer.hours.close),
            webhook_url: buyer.webhook_url.clone(),
            secret: None,
            return_window_days: buyer.return_window_days,
            active: buyer.active,
            ping_url: buyer.ping_post.as_ref().map(|p| p.ping_url.clone()),
            ping_deadline_ms: buyer.ping_post.as_ref().map(|p| p.deadline_ms),
            property_types: buyer.filters.property_types.iter().copied().collect(),
            min_monthly_bill_cents: buyer.filters.min_monthly_bill.map(|c| c.0),
            exclude_coops: buyer.filters.exclude_coops,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::buyer::tests::buyer;

    #[test]
    fn given_a_buyer_when_written_as_terms_and_read_back_then_it_is_the_same_buyer() {
        let mut original = buyer();
        original.filters = LeadFilters {
            property_types: [PropertyType::SingleFamily, PropertyType::Townhouse].into(),
            min_monthly_bill: Some(Cents(12_000)),
            exclude_coops: true,
        };
        original.ping_post = Some(PingPost {
            ping_url: "https://bids.example/ping".into(),
            deadline_ms: 250,
        });
        let terms = BuyerTerms::of(&original);
        assert_eq!(terms.secret, None, "the form never carries the secret");
        let back = terms
            .into_buyer(original.secret.clone())
            .expect("valid terms");
        assert_eq!(back, original);
    }

    #[test]
    fn given_terms_with_a_bad_minimum_bill_when_read_then_the_field_is_named() {
        let mut terms = BuyerTerms::of(&buyer());
        terms.min_monthly_bill_cents = Some(0);
        let err = terms.into_buyer(buyer().secret).expect_err("refused");
        assert_eq!(err.field, "min_monthly_bill_cents");
    }
}

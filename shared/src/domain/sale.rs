//! Selling a lead is one atomic change of four things: the lead record (queued → sold),
//! the buyer's daily lead count, its monthly spend, and the revenue ledger — plus a claim
//! on the homeowner's contact details for the de-duplication window. Adapters apply a
//! `Sale` in one transaction (DynamoDB `TransactWriteItems`, one redb write transaction),
//! so a lead is sold once and no cap is exceeded, whatever the races.

use super::buyer::{Buyer, BuyerId};
use super::lead::LeadRecord;
use super::money::Cents;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What a buyer has taken in its current local day and month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerCounters {
    pub leads_today: u32,
    pub spend_this_month: Cents,
}

/// The period keys of a buyer's counters: its local day and month.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CounterPeriod {
    pub buyer_id: BuyerId,
    pub day: NaiveDate,
    /// `YYYY-MM`.
    pub month: String,
}

impl CounterPeriod {
    /// The buyer's local day and month at `at`: the periods its caps count in.
    pub fn of(buyer: &Buyer, at: DateTime<Utc>) -> CounterPeriod {
        let (year, month) = buyer.hours.local_month(at);
        CounterPeriod {
            buyer_id: buyer.id.clone(),
            day: buyer.hours.local_day(at),
            month: format!("{year:04}-{month:02}"),
        }
    }
}

/// One append-only ledger line. Amounts are signed: a sale is positive, its release or a
/// credited return negative; the sum over a lead is what the business earned from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub lead_id: String,
    /// Unique per lead: `sale#1`, `release#1`, `sale#2` (a cascade), `credit#…`.
    pub entry_id: String,
    pub buyer_id: BuyerId,
    pub kind: LedgerKind,
    pub amount: Cents,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    Sale,
    /// A sale undone before the buyer kept it (rejected at post time, undeliverable).
    Release,
    /// A return credited to the buyer.
    Credit,
    /// A conversion value the buyer reported (recorded, not revenue).
    Conversion,
}

impl LedgerKind {
    /// Whether the line's amount is money the business earned (or gave back).
    pub fn is_revenue(self) -> bool {
        !matches!(self, LedgerKind::Conversion)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Sale => "sale",
            LedgerKind::Release => "release",
            LedgerKind::Credit => "credit",
            LedgerKind::Conversion => "conversion",
        }
    }
}

impl LedgerEntry {
    /// The line's effect on revenue: its amount, or zero for a recorded conversion value.
    pub fn revenue(&self) -> Cents {
        if self.kind.is_revenue() {
            self.amount
        } else {
            Cents::ZERO
        }
    }
}

/// A sale to apply atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct Sale {
    /// The lead record as it will be stored (state `sold`); its `version` is the one read.
    pub record: LeadRecord,
    pub period: CounterPeriod,
    pub price: Cents,
    /// At most this many leads in the buyer's day (its cap minus the buffer).
    pub daily_limit: u32,
    pub monthly_spend_cap: Option<Cents>,
    pub ledger: LedgerEntry,
    /// Keyed hashes of the homeowner's phone and email; the sale claims them until
    /// `claim_until`, and fails as a duplicate if another lead holds one.
    pub contact_keys: Vec<String>,
    pub claim_until: DateTime<Utc>,
}

impl Sale {
    /// The one rule book of a sale, as every store applies it: given what the store holds
    /// now (whether this sale's ledger line exists, the buyer's leads today and spend this
    /// month, whether another lead holds one of the contact keys), why it must be refused,
    /// if it must. DynamoDB states the same rules as the conditions of its transaction.
    pub fn refusal(
        &self,
        already_recorded: bool,
        sold_today: u32,
        spent_this_month: Cents,
        contact_held_elsewhere: bool,
    ) -> Option<SaleRefused> {
        if already_recorded {
            Some(SaleRefused::LeadChanged)
        } else if sold_today >= self.daily_limit {
            Some(SaleRefused::DailyCapReached)
        } else if self
            .monthly_spend_cap
            .is_some_and(|cap| spent_this_month.saturating_add(self.price) > cap)
        {
            Some(SaleRefused::MonthlySpendCapReached)
        } else if contact_held_elsewhere {
            Some(SaleRefused::Duplicate)
        } else {
            None
        }
    }

    /// Whether a stored claim on a contact key (held by `holder` until `until`) stops this
    /// sale: another lead's claim that has not run out.
    pub fn blocked_by_claim(&self, holder: &str, until: DateTime<Utc>) -> bool {
        holder != self.record.lead_id && until > self.record.updated_at
    }
}

/// Undoing a sale (rejected at post time, undeliverable): the lead record as it will be
/// stored, the counters given back, a negative ledger line, the contact claims released.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub record: LeadRecord,
    pub period: CounterPeriod,
    pub price: Cents,
    pub ledger: LedgerEntry,
    pub contact_keys: Vec<String>,
}

/// Why a sale was not applied. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaleRefused {
    #[error("the lead record changed since it was read")]
    LeadChanged,
    #[error("the buyer's daily cap is reached")]
    DailyCapReached,
    #[error("the buyer's monthly spend cap is reached")]
    MonthlySpendCapReached,
    /// Another lead with the same phone or email was sold inside the window.
    #[error("the homeowner's contact details were sold within the window")]
    Duplicate,
}

/// Keys a contact detail for de-duplication: lowercase email, phone digits (E.164 kept
/// as digits), so "(718) 555-0142" and "+1 718 555 0142" match. The caller hashes the
/// result with a secret key before storing it.
pub fn normalise_contact(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.contains('@') {
        let email = raw.to_ascii_lowercase();
        return (email.len() > 3).then_some(format!("email:{email}"));
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let national = match digits.len() {
        11 if digits.starts_with('1') => &digits[1..],
        10 => &digits[..],
        _ => return None,
    };
    Some(format!("phone:+1{national}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_one_phone_written_two_ways_when_normalised_then_they_match() {
        assert_eq!(
            normalise_contact("(718) 555-0142"),
            normalise_contact("+1 718 555 0142")
        );
        assert_eq!(
            normalise_contact("Maria.Lopez@Example.com"),
            Some("email:maria.lopez@example.com".into())
        );
        assert_eq!(normalise_contact("555-0142"), None);
    }
}

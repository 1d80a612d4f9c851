//! A buyer's monthly statement: every ledger line of the New York month (sales, releases,
//! credits, conversion values) and every return held for review, with totals. Its `net`
//! is the sum of the month's revenue lines, so the statements of every buyer and month add
//! up to the ledger.

use super::buyer::BuyerId;
use super::feedback::{Disposition, FeedbackRecord, FeedbackType, statement_month};
use super::money::{Cents, Usd};
use super::sale::{LedgerEntry, LedgerKind};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Sale,
    /// A sale undone before the buyer kept it (rejected at post time, undeliverable).
    Release,
    /// A rejection or return credited.
    Credit,
    /// A conversion value the buyer reported: recorded, not billed.
    Conversion,
    /// A rejection or return beyond the return-rate cap, waiting for review: no credit yet.
    HeldForReview,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StatementLine {
    pub at: DateTime<Utc>,
    pub lead_id: String,
    /// The ledger entry (`sale#1`, `credit#1`…), or `held#returned` / `held#rejected`.
    pub entry_id: String,
    pub kind: LineKind,
    /// What the line adds to the month's net (zero for conversions and held returns).
    #[schema(value_type = f64)]
    pub amount: Usd,
    /// A conversion's value, or the credit a held return would give.
    #[schema(value_type = Option<f64>)]
    pub value: Option<Usd>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StatementTotals {
    pub leads_sold: u32,
    #[schema(value_type = f64)]
    pub sold_amount: Usd,
    pub released: u32,
    #[schema(value_type = f64)]
    pub released_amount: Usd,
    /// Feedback of the month, by type.
    pub accepted: u32,
    pub rejected: u32,
    pub returned: u32,
    pub credited: u32,
    #[schema(value_type = f64)]
    pub credited_amount: Usd,
    pub held: u32,
    #[schema(value_type = f64)]
    pub held_amount: Usd,
    pub converted: u32,
    #[schema(value_type = f64)]
    pub conversion_value: Usd,
    /// Sales less releases less credits: what the buyer owes for the month.
    #[schema(value_type = f64)]
    pub net: Usd,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Statement {
    #[schema(value_type = String)]
    pub buyer_id: BuyerId,
    /// `YYYY-MM`, New York time.
    pub month: String,
    /// In time order.
    pub lines: Vec<StatementLine>,
    pub totals: StatementTotals,
    /// The net in integer cents, for reconciling without floats.
    pub net_cents: i64,
}

/// Builds the statement of `buyer` for `month` from the month's ledger lines and feedback
/// (anything of another buyer or month is ignored).
pub fn statement(
    buyer: &BuyerId,
    month: &str,
    ledger: &[LedgerEntry],
    feedback: &[FeedbackRecord],
) -> Statement {
    let mut lines = Vec::new();
    let mut t = StatementTotals::default();
    let mut net = Cents::ZERO;
    let mut sold = Cents::ZERO;
    let mut released = Cents::ZERO;
    let mut credited = Cents::ZERO;
    let mut held = Cents::ZERO;
    let mut converted = Cents::ZERO;
    for e in ledger
        .iter()
        .filter(|e| e.buyer_id == *buyer && statement_month(e.at) == month)
    {
        let kind = match e.kind {
            LedgerKind::Sale => {
                t.leads_sold += 1;
                sold += e.amount;
                LineKind::Sale
            }
            LedgerKind::Release => {
                t.released += 1;
                released += e.amount;
                LineKind::Release
            }
            LedgerKind::Credit => {
                t.credited += 1;
                credited += e.amount;
                LineKind::Credit
            }
            LedgerKind::Conversion => {
                converted += e.amount;
                LineKind::Conversion
            }
        };
        net += e.revenue();
        lines.push(StatementLine {
            at: e.at,
            lead_id: e.lead_id.clone(),
            entry_id: e.entry_id.clone(),
            kind,
            amount: Usd(e.revenue()),
            value: (!e.kind.is_revenue()).then_some(Usd(e.amount)),
        });
    }
    for f in feedback
        .iter()
        .filter(|f| f.buyer_id == *buyer && f.month == month)
    {
        match f.kind {
            FeedbackType::Accepted => t.accepted += 1,
            FeedbackType::Rejected => t.rejected += 1,
            FeedbackType::Returned => t.returned += 1,
            FeedbackType::Converted => t.converted += 1,
        }
        if f.disposition == Disposition::HeldForReview {
            t.held += 1;
            let would = f.held_credit.unwrap_or_default();
            held += would;
            lines.push(StatementLine {
                at: f.received_at,
                lead_id: f.lead_id.clone(),
                entry_id: format!("held#{}", f.kind.as_str()),
                kind: LineKind::HeldForReview,
                amount: Usd(Cents::ZERO),
                value: Some(Usd(would)),
            });
        }
    }
    lines.sort_by(|a, b| (a.at, &a.lead_id, &a.entry_id).cmp(&(b.at, &b.lead_id, &b.entry_id)));
    t.sold_amount = Usd(sold);
    t.released_amount = Usd(released);
    t.credited_amount = Usd(credited);
    t.held_amount = Usd(held);
    t.conversion_value = Usd(converted);
    t.net = Usd(net);
    Statement {
        buyer_id: buyer.clone(),
        month: month.to_owned(),
        lines,
        totals: t,
        net_cents: net.0,
    }
}

/// One lead of a buyer's month as the buyer sees it: what it paid, what was credited, and
/// the lead's status while the sale is its own (`released` once it is not).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OwnLead {
    pub lead_id: String,
    /// When it was first sold to the buyer this month.
    pub sold_at: DateTime<Utc>,
    #[schema(value_type = f64)]
    pub price: Usd,
    /// Released and credited amounts, as positive dollars.
    #[schema(value_type = f64)]
    pub credited: Usd,
    /// What the lead adds to the month's net.
    #[schema(value_type = f64)]
    pub net: Usd,
    /// A return or rejection waiting for the sales team's review.
    pub held_for_review: bool,
    /// `delivered`, `accepted`, `rejected`, `returned`, `converted`, `withdrawn`, … or
    /// `released` when the sale is no longer the buyer's.
    pub status: String,
}

/// The buyer's leads of a statement, in order of sale; `status` says each lead's status
/// as the buyer may see it (none: unknown).
pub fn own_leads(statement: &Statement, status: impl Fn(&str) -> Option<String>) -> Vec<OwnLead> {
    let mut out: Vec<OwnLead> = Vec::new();
    for line in &statement.lines {
        let at = out.iter().position(|l| l.lead_id == line.lead_id);
        let lead = match at {
            Some(i) => &mut out[i],
            None if line.kind == LineKind::Sale => {
                out.push(OwnLead {
                    lead_id: line.lead_id.clone(),
                    sold_at: line.at,
                    price: Usd(Cents::ZERO),
                    credited: Usd(Cents::ZERO),
                    net: Usd(Cents::ZERO),
                    held_for_review: false,
                    status: String::new(),
                });
                let last = out.len() - 1;
                &mut out[last]
            }
            // A credit or conversion of a lead sold in an earlier month: not this month's.
            None => continue,
        };
        match line.kind {
            LineKind::Sale => lead.price = Usd(lead.price.0 + line.amount.0),
            LineKind::Release | LineKind::Credit => {
                lead.credited = Usd(lead.credited.0 - line.amount.0);
            }
            LineKind::HeldForReview => lead.held_for_review = true,
            LineKind::Conversion => {}
        }
        lead.net = Usd(lead.price.0 - lead.credited.0);
    }
    for lead in &mut out {
        lead.status = status(&lead.lead_id).unwrap_or_else(|| "unknown".to_owned());
    }
    out
}

//! Bid prices: what one unit of a buyer's remaining capacity today is expected to earn on
//! a later lead, so that `bid_price` routing does not spend it on a lead another buyer
//! could take.
//!
//! The estimate is the dual price of the buyer's capacity in the day's remaining
//! assignment problem, over a forecast of the rest of the day: the leads of recent days
//! that arrived later in the day than now (each weighted 1 / days, so the sample stands
//! for one expected day), with what each was worth to each buyer eligible for it. The
//! duals solve
//!
//! ```text
//! min Σ_b cap_b · λ_b + Σ_l w · max(0, max_b (v_lb − λ_b))      (λ ≥ 0)
//! ```
//!
//! by coordinate descent: for one buyer, holding the others, the best λ_b is the margin
//! (value to b less the lead's best alternative at the others' prices) of the first
//! forecast lead beyond b's remaining capacity, or 0 when its capacity is not expected to
//! run out. A few sweeps settle it. Pure and allocation-light: it runs per lead.

use super::money::Cents;
use serde::{Deserialize, Serialize};

/// Minutes in a day: forecast times are minutes after New York midnight.
pub const MINUTES_PER_DAY: u16 = 24 * 60;

/// One lead of a recent day, as routing saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastLead {
    /// Minutes after midnight (New York) it arrived.
    pub minute: u16,
    /// (buyer index into [`DemandForecast::buyers`], expected revenue before surge) for each
    /// buyer that was eligible for it then (area, tier, hours).
    pub values: Vec<(u16, Cents)>,
}

/// Recent days' leads, the sample the bid prices are estimated on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemandForecast {
    /// Buyer ids in index order.
    pub buyers: Vec<String>,
    /// How many days `leads` covers (each lead stands for 1 / days of an expected day).
    pub days: u32,
    /// Sorted by `minute`.
    pub leads: Vec<ForecastLead>,
}

/// Sweeps of the coordinate descent; they stop earlier once no price moves.
const MAX_SWEEPS: usize = 25;

impl DemandForecast {
    pub fn new(buyers: Vec<String>, days: u32, mut leads: Vec<ForecastLead>) -> DemandForecast {
        leads.sort_by_key(|l| l.minute);
        DemandForecast {
            buyers,
            days,
            leads,
        }
    }

    /// An empty forecast: every bid price is zero.
    pub fn none(buyers: Vec<String>) -> DemandForecast {
        DemandForecast::new(buyers, 0, Vec::new())
    }

    /// The bid price of each buyer (in [`DemandForecast::buyers`] order) for the rest of
    /// the day after `minute`, given each buyer's remaining capacity in leads.
    pub fn bid_prices(&self, minute: u16, remaining: &[u32]) -> Vec<Cents> {
        self.bid_prices_from(minute, remaining, &[])
    }

    /// [`DemandForecast::bid_prices`], starting the descent from `start` (the prices of the
    /// previous lead, say): consecutive leads move the prices little, so it settles in
    /// fewer sweeps.
    pub fn bid_prices_from(&self, minute: u16, remaining: &[u32], start: &[Cents]) -> Vec<Cents> {
        let n = self.buyers.len();
        if self.days == 0 {
            return vec![Cents::ZERO; n];
        }
        let mut prices: Vec<i64> = (0..n)
            .map(|b| start.get(b).map_or(0, |c| c.0.max(0)))
            .collect();
        let start = self.leads.partition_point(|l| l.minute <= minute);
        let future = &self.leads[start..];
        // Capacity in sample leads: `days` sample days stand for one expected day.
        let slots: Vec<usize> = (0..n)
            .map(|b| {
                let cap = remaining.get(b).copied().unwrap_or(0);
                usize::try_from(u64::from(cap) * u64::from(self.days)).unwrap_or(usize::MAX)
            })
            .collect();
        let mut margins: Vec<i64> = Vec::with_capacity(future.len());
        for _ in 0..MAX_SWEEPS {
            let mut moved = false;
            for b in 0..n {
                margins.clear();
                for lead in future {
                    let mut own = None;
                    let mut alternative = 0i64;
                    for &(i, v) in &lead.values {
                        let i = usize::from(i);
                        if i == b {
                            own = Some(v.0);
                        } else if i < n {
                            alternative = alternative.max(v.0 - prices[i]);
                        }
                    }
                    if let Some(v) = own
                        && v > alternative
                    {
                        margins.push(v - alternative);
                    }
                }
                let price = if margins.len() <= slots[b] {
                    0
                } else {
                    // The first lead that does not fit: the margin at position `slots[b]`
                    // in descending order.
                    let k = slots[b];
                    let (_, kth, _) = margins.select_nth_unstable_by(k, |a, b| b.cmp(a));
                    *kth
                };
                if price != prices[b] {
                    moved = true;
                    prices[b] = price;
                }
            }
            if !moved {
                break;
            }
        }
        prices.into_iter().map(Cents).collect()
    }
}

/// One routed lead as the fleet's routers record it for the bid prices: when it arrived
/// (minutes after New York midnight) and its value to each buyer that could take such a
/// lead whatever its caps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrival {
    pub minute: u16,
    pub values: Vec<(String, Cents)>,
}

impl DemandForecast {
    /// The forecast from recent days' arrivals, most recent day first: whole days while
    /// the sample stays within `max_leads` (at least the most recent day, its first
    /// `max_leads` arrivals when it alone has more).
    pub fn from_days(days: &[Vec<Arrival>], max_leads: usize) -> DemandForecast {
        let mut taken: Vec<&Arrival> = Vec::new();
        let mut covered = 0u32;
        for day in days.iter().filter(|d| !d.is_empty()) {
            if covered > 0 && taken.len() + day.len() > max_leads {
                break;
            }
            taken.extend(day.iter().take(max_leads));
            covered += 1;
        }
        let mut buyers: Vec<String> = taken
            .iter()
            .flat_map(|a| a.values.iter().map(|(id, _)| id.clone()))
            .collect();
        buyers.sort();
        buyers.dedup();
        let leads = taken
            .iter()
            .map(|a| ForecastLead {
                minute: a.minute.min(MINUTES_PER_DAY - 1),
                values: a
                    .values
                    .iter()
                    .filter_map(|(id, v)| {
                        let i = buyers.binary_search(id).ok()?;
                        Some((u16::try_from(i).ok()?, *v))
                    })
                    .collect(),
            })
            .collect();
        DemandForecast::new(buyers, covered, leads)
    }

    /// The same forecast over `buyers` (their index order): values for buyers not in the
    /// list are dropped, buyers the forecast never saw have no leads.
    pub fn for_buyers(&self, buyers: &[&str]) -> DemandForecast {
        let map: Vec<Option<u16>> = self
            .buyers
            .iter()
            .map(|id| {
                buyers
                    .iter()
                    .position(|b| b == id)
                    .and_then(|i| u16::try_from(i).ok())
            })
            .collect();
        DemandForecast {
            buyers: buyers.iter().map(|b| (*b).to_owned()).collect(),
            days: self.days,
            leads: self
                .leads
                .iter()
                .map(|l| ForecastLead {
                    minute: l.minute,
                    values: l
                        .values
                        .iter()
                        .filter_map(|&(i, v)| Some((map.get(usize::from(i)).copied()??, v)))
                        .collect(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(minute: u16, values: &[(u16, i64)]) -> ForecastLead {
        ForecastLead {
            minute,
            values: values.iter().map(|&(b, v)| (b, Cents(v))).collect(),
        }
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("b{i}")).collect()
    }

    #[test]
    fn given_no_forecast_then_capacity_costs_nothing() {
        let f = DemandForecast::none(names(2));
        assert_eq!(f.bid_prices(0, &[1, 1]), vec![Cents::ZERO; 2]);
    }

    #[test]
    fn given_more_capacity_than_leads_to_come_then_the_bid_price_is_zero() {
        let f = DemandForecast::new(
            names(1),
            1,
            vec![lead(600, &[(0, 10_000)]), lead(700, &[(0, 20_000)])],
        );
        assert_eq!(f.bid_prices(0, &[2]), vec![Cents::ZERO]);
        assert_eq!(f.bid_prices(0, &[5]), vec![Cents::ZERO]);
    }

    #[test]
    fn given_scarce_capacity_then_the_bid_price_is_the_best_lead_that_will_not_fit() {
        // GIVEN one buyer, one slot left, and three leads expected later worth $100, $300, $200
        let f = DemandForecast::new(
            names(1),
            1,
            vec![
                lead(600, &[(0, 10_000)]),
                lead(700, &[(0, 30_000)]),
                lead(800, &[(0, 20_000)]),
            ],
        );
        // THEN the slot is worth the $200 lead that would be displaced
        assert_eq!(f.bid_prices(0, &[1]), vec![Cents(20_000)]);
        assert_eq!(f.bid_prices(0, &[2]), vec![Cents(10_000)]);
        // AND only later leads count: after 12:30 only the $200 one is left
        assert_eq!(f.bid_prices(750, &[1]), vec![Cents::ZERO]);
        // AND over two sample days the same leads stand for 1.5 a day: one slot a day is
        // two sample slots, and the first lead beyond them is the $100 one
        let two_days = DemandForecast {
            days: 2,
            ..f.clone()
        };
        assert_eq!(two_days.bid_prices(0, &[1]), vec![Cents(10_000)]);
        assert_eq!(two_days.bid_prices(0, &[2]), vec![Cents::ZERO]);
    }

    #[test]
    fn given_a_competing_buyer_then_the_bid_price_counts_only_what_it_would_lose() {
        // GIVEN buyer 0 (1 slot) and buyer 1 (plenty) both eligible for two later leads:
        // lead A worth $300 to 0 and $250 to 1; lead B worth $200 to 0 and $20 to 1
        let f = DemandForecast::new(
            names(2),
            1,
            vec![
                lead(600, &[(0, 30_000), (1, 25_000)]),
                lead(700, &[(0, 20_000), (1, 2_000)]),
            ],
        );
        // THEN buyer 0's slot is worth $50, not $200: it goes to B (a $180 margin over
        // buyer 1) and the best lead it leaves out is A, which buyer 1 takes for $50 less;
        // buyer 1 is not scarce
        let prices = f.bid_prices(0, &[1, 10]);
        assert_eq!(prices[1], Cents::ZERO);
        assert_eq!(prices[0], Cents(5_000));
        // AND a descent started from other prices (the previous lead's) settles there too
        let warm = f.bid_prices_from(0, &[1, 10], &[Cents(90_000), Cents(7_000)]);
        assert_eq!(warm, prices);
    }

    fn arrival(minute: u16, values: &[(&str, i64)]) -> Arrival {
        Arrival {
            minute,
            values: values
                .iter()
                .map(|&(b, v)| (b.to_owned(), Cents(v)))
                .collect(),
        }
    }

    #[test]
    fn given_recorded_arrivals_when_the_forecast_is_rebuilt_then_its_bid_prices_match_the_direct_one()
     {
        let days = vec![
            vec![
                arrival(600, &[("a", 300), ("b", 100)]),
                arrival(700, &[("a", 200)]),
            ],
            vec![arrival(650, &[("a", 250)]), arrival(800, &[("b", 90)])],
        ];
        let stored = DemandForecast::from_days(&days, 100);
        assert_eq!(stored.days, 2);
        assert_eq!(stored.buyers, ["a", "b"]);
        let direct = DemandForecast::new(
            names(2),
            2,
            vec![
                lead(600, &[(0, 300), (1, 100)]),
                lead(700, &[(0, 200)]),
                lead(650, &[(0, 250)]),
                lead(800, &[(1, 90)]),
            ],
        );
        assert_eq!(stored.bid_prices(0, &[1, 1]), direct.bid_prices(0, &[1, 1]));
        assert!(
            stored.bid_prices(0, &[1, 1])[0] > Cents::ZERO,
            "a is scarce"
        );

        // Reindexed for a router whose buyer list is [c, b, a]: a's price moves with it.
        let routed = stored.for_buyers(&["c", "b", "a"]);
        let prices = routed.bid_prices(0, &[5, 1, 1]);
        assert_eq!(prices[0], Cents::ZERO, "c never had a lead");
        assert_eq!(prices[2], stored.bid_prices(0, &[1, 1])[0]);
    }

    #[test]
    fn given_more_arrivals_than_the_sample_holds_then_whole_recent_days_are_kept() {
        let day = |n: u16| {
            (0..n)
                .map(|m| arrival(m, &[("a", 100)]))
                .collect::<Vec<_>>()
        };
        let f = DemandForecast::from_days(&[day(3), day(3), day(3)], 7);
        assert_eq!(
            (f.days, f.leads.len()),
            (2, 6),
            "a third day would overflow"
        );
        let f = DemandForecast::from_days(&[day(10)], 7);
        assert_eq!(
            (f.days, f.leads.len()),
            (1, 7),
            "one day alone is truncated"
        );
    }
}

//! Daily revenue forecast: the series is split by MSTL (seasonal-trend decomposition by
//! LOESS) into a weekly seasonal part and the rest; an AutoETS model (additive errors,
//! trend chosen by likelihood) forecasts the rest with its prediction interval, and the last
//! week's seasonal profile is added back. It comes with its measured accuracy: a
//! rolling-origin backtest on the same history gives the MASE (mean absolute error scaled
//! by the in-sample error of the seasonal naive forecast, "same weekday last week": below 1
//! beats it) and the share of actual days that fell inside the prediction interval, which
//! is calibrated on that backtest (see [`backtest`]).
//!
//! Revenue is never negative: points and interval bounds are clamped at zero (the model
//! itself is additive and can dip below zero on a weak weekday).
//!
//! Pure: the caller passes the history (one figure per New York day, complete days only).

use crate::domain::money::{Cents, Usd};
use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use augurs_mstl::MSTLModel;
use chrono::{Days, NaiveDate};
use serde::Serialize;

/// Days per season: revenue follows the week.
pub const SEASON_DAYS: usize = 7;
/// Shortest history the model is fitted on: two full weeks, so that the decomposition sees
/// each weekday twice.
pub const MIN_HISTORY_DAYS: usize = 2 * SEASON_DAYS;
/// Longest horizon answered (beyond a month a weekly model says little).
pub const MAX_HORIZON_DAYS: usize = 31;
/// Most backtest folds (each refits the model).
pub const MAX_FOLDS: usize = 4;
/// Days between two backtest origins.
pub const FOLD_STEP_DAYS: usize = 3;
/// The model as the API names it.
pub const MODEL_NAME: &str = "ETS with weekly seasonality (MSTL + AutoETS)";

/// Why no forecast was made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    #[error("{have} days of revenue history; a forecast needs at least {need}")]
    InsufficientHistory { have: usize, need: usize },
    #[error("horizon must be 1 to {max} days, not {got}")]
    InvalidHorizon { got: usize, max: usize },
    #[error("the prediction interval level must be between 0 and 1 (exclusive), not {0}")]
    InvalidLevel(f64),
    #[error("the history's days must be in order and distinct ({0} repeats or goes back)")]
    UnorderedHistory(NaiveDate),
    #[error("the model could not be fitted: {0}")]
    Model(String),
}

/// One forecast day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForecastPoint {
    pub date: NaiveDate,
    /// The point forecast, at least zero.
    pub revenue: Cents,
    /// The prediction interval, `lower <= revenue <= upper`, `lower >= 0`.
    pub lower: Cents,
    pub upper: Cents,
}

/// How the same model did on the history it was given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Backtest {
    /// Mean absolute scaled error against the seasonal naive forecast (below 1: better
    /// than "same weekday last week"); absent when the history has no week-on-week change
    /// to scale by (a constant series).
    #[schema(required = true)]
    pub mase: Option<f64>,
    /// Share of the backtest's actual days inside the prediction interval.
    pub coverage: f64,
    /// Rolling origins the model was refitted at.
    pub folds: usize,
    /// How much the model's own interval was widened to hold `level` of the backtest days
    /// (1: not at all).
    pub interval_scale: f64,
}

/// A fitted forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Days the model was fitted on (from the first day with revenue).
    pub history_days: usize,
    pub level: f64,
    pub points: Vec<ForecastPoint>,
    /// Absent when the history is too short to hold out a fold.
    pub backtest: Option<Backtest>,
}

/// Forecasts `horizon` days after the last day of `daily` (one entry per day, oldest
/// first; a missing day counts as zero revenue; days before the first revenue are left
/// out), with a prediction interval at `level` (e.g. 0.8), and backtests the model on the
/// history.
pub fn forecast(
    daily: &[(NaiveDate, Cents)],
    horizon: usize,
    level: f64,
) -> Result<Forecast, ForecastError> {
    if horizon == 0 || horizon > MAX_HORIZON_DAYS {
        return Err(ForecastError::InvalidHorizon {
            got: horizon,
            max: MAX_HORIZON_DAYS,
        });
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(ForecastError::InvalidLevel(level));
    }
    let (start, series) = dense_series(daily)?;
    if series.len() < MIN_HISTORY_DAYS {
        return Err(ForecastError::InsufficientHistory {
            have: series.len(),
            need: MIN_HISTORY_DAYS,
        });
    }
    let bt = backtest(&series, horizon, level)?;
    let scale = bt.as_ref().map_or(1.0, |(_, scale)| *scale);
    let fitted = finish(fit_raw(&series, horizon, level)?, scale);
    let first = start
        .and_then(|s| s.checked_add_days(Days::new(series.len() as u64)))
        .ok_or_else(|| ForecastError::Model("dates out of range".into()))?;
    let points = fitted
        .into_iter()
        .enumerate()
        .map(|(i, (point, lower, upper))| {
            let date = first
                .checked_add_days(Days::new(i as u64))
                .ok_or_else(|| ForecastError::Model("dates out of range".into()))?;
            Ok(ForecastPoint {
                date,
                revenue: to_cents(point),
                lower: to_cents(lower),
                upper: to_cents(upper),
            })
        })
        .collect::<Result<Vec<_>, ForecastError>>()?;
    Ok(Forecast {
        history_days: series.len(),
        level,
        points,
        backtest: bt.map(|(b, _)| b),
    })
}

/// The history as one value per day from the first day with revenue, gaps filled with
/// zero; with the date of its first value.
fn dense_series(
    daily: &[(NaiveDate, Cents)],
) -> Result<(Option<NaiveDate>, Vec<f64>), ForecastError> {
    for pair in daily.windows(2) {
        if pair[1].0 <= pair[0].0 {
            return Err(ForecastError::UnorderedHistory(pair[1].0));
        }
    }
    let Some(first) = daily.iter().position(|(_, c)| *c != Cents::ZERO) else {
        // No revenue at all: no history yet.
        return Ok((None, Vec::new()));
    };
    let kept = &daily[first..];
    let start = kept[0].0;
    let days = day_span(start, kept[kept.len() - 1].0);
    let mut series = vec![0.0; days];
    for (date, cents) in kept {
        let i = (*date - start).num_days() as usize;
        series[i] = cents.0 as f64;
    }
    Ok((Some(start), series))
}

/// Days from `a` to `b`, both counted.
fn day_span(a: NaiveDate, b: NaiveDate) -> usize {
    (b - a).num_days().max(0) as usize + 1
}

fn to_cents(value: f64) -> Cents {
    // Finite by construction (`fit_raw` refuses anything else); clamped at zero.
    Cents(value.max(0.0).round().min(i64::MAX as f64) as i64)
}

/// The model's (point, lower, upper) per horizon day, as fitted (finite, unclamped).
fn fit_raw(
    series: &[f64],
    horizon: usize,
    level: f64,
) -> Result<Vec<(f64, f64, f64)>, ForecastError> {
    let raw = if is_constant(series) {
        // Nothing to decompose or fit: the series goes on as it was, with no spread.
        vec![(series[0], series[0], series[0]); horizon]
    } else {
        let model = MSTLModel::new(
            vec![SEASON_DAYS],
            AutoETS::new(1, "AZN")
                .map_err(|e| ForecastError::Model(e.to_string()))?
                .into_trend_model(),
        );
        let fitted = model
            .fit(series)
            .map_err(|e| ForecastError::Model(e.to_string()))?;
        let f = fitted
            .predict(horizon, level)
            .map_err(|e| ForecastError::Model(e.to_string()))?;
        let intervals = f
            .intervals
            .ok_or_else(|| ForecastError::Model("no prediction interval".into()))?;
        f.point
            .iter()
            .zip(&intervals.lower)
            .zip(&intervals.upper)
            .map(|((p, l), u)| (*p, l.min(*p), u.max(*p)))
            .collect()
    };
    if raw.len() != horizon
        || raw
            .iter()
            .any(|(p, l, u)| !p.is_finite() || !l.is_finite() || !u.is_finite())
    {
        return Err(ForecastError::Model(
            "the model gave no finite forecast".into(),
        ));
    }
    Ok(raw)
}

/// The interval widened by `scale` around the point, then everything clamped at zero:
/// `0 <= lower <= point <= upper`.
fn finish(raw: Vec<(f64, f64, f64)>, scale: f64) -> Vec<(f64, f64, f64)> {
    raw.into_iter()
        .map(|(p, l, u)| {
            let (l, u) = (p - (p - l) * scale, p + (u - p) * scale);
            let point = p.max(0.0);
            (point, l.max(0.0).min(point), u.max(point))
        })
        .collect()
}

fn is_constant(series: &[f64]) -> bool {
    series.windows(2).all(|w| w[0] == w[1])
}

/// How far outside its interval an actual day fell: 1 on the bound, below 1 inside (0 on
/// the point), in units of the interval's half-width on that side.
fn interval_ratio((p, l, u): (f64, f64, f64), actual: f64) -> f64 {
    let (err, half) = if actual < p {
        (p - actual, p - l)
    } else {
        (actual - p, u - p)
    };
    if err == 0.0 {
        0.0
    } else if half > 0.0 {
        err / half
    } else {
        f64::INFINITY
    }
}

/// The factor (at least 1) that widens the model's interval so that a share `level` of
/// these ratios falls inside it; `None` when there are none, or when no finite factor does.
fn scale_for(ratios: &[f64], level: f64) -> Option<f64> {
    if ratios.is_empty() {
        return None;
    }
    let mut sorted = ratios.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((level * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    let k = sorted[rank - 1];
    k.is_finite().then_some(k.max(1.0))
}

/// Rolling origin: the model is refitted on the history up to each origin and scored on
/// the `horizon` days after it (the last origin leaves exactly `horizon` days; earlier ones
/// step back [`FOLD_STEP_DAYS`] at a time, each keeping at least [`MIN_HISTORY_DAYS`]).
///
/// The intervals of AutoETS on the deseasonalised series leave out the seasonal part's
/// uncertainty and tend to be narrow, so they are calibrated on the backtest (split
/// conformal): the served interval is the model's widened by the factor that would have
/// held `level` of the backtest days. The coverage reported is cross-validated: each
/// fold's days are scored against the factor learned from the other folds only. Returns
/// the backtest and the factor for the served interval.
fn backtest(
    series: &[f64],
    horizon: usize,
    level: f64,
) -> Result<Option<(Backtest, f64)>, ForecastError> {
    let Some(last_origin) = series.len().checked_sub(horizon) else {
        return Ok(None);
    };
    let origins: Vec<usize> = (0..MAX_FOLDS)
        .filter_map(|k| last_origin.checked_sub(k * FOLD_STEP_DAYS))
        .filter(|origin| *origin >= MIN_HISTORY_DAYS)
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let mut scaled = Vec::new();
    let mut ratios: Vec<Vec<f64>> = Vec::new();
    for origin in &origins {
        let train = &series[..*origin];
        let actual = &series[*origin..*origin + horizon];
        let raw = fit_raw(train, horizon, level)?;
        let predicted = finish(raw.clone(), 1.0);
        let errors: f64 = predicted
            .iter()
            .zip(actual)
            .map(|((p, _, _), a)| (p - a).abs())
            .sum::<f64>()
            / horizon as f64;
        if let Some(scale) = seasonal_naive_mae(train).filter(|s| *s > 0.0) {
            scaled.push(errors / scale);
        }
        ratios.push(
            raw.iter()
                .zip(actual)
                .map(|(r, a)| interval_ratio(*r, *a))
                .collect(),
        );
    }
    let (mut inside, mut total) = (0usize, 0usize);
    for (i, fold) in ratios.iter().enumerate() {
        let others: Vec<f64> = ratios
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, r)| r.iter().copied())
            .collect();
        // A single fold has no other to learn from: it is scored on the model's interval.
        let k = if others.is_empty() {
            Some(1.0)
        } else {
            scale_for(&others, level)
        };
        for r in fold {
            total += 1;
            if k.is_some_and(|k| *r <= k) {
                inside += 1;
            }
        }
    }
    let all: Vec<f64> = ratios.iter().flatten().copied().collect();
    let served = scale_for(&all, level).unwrap_or(1.0);
    Ok(Some((
        Backtest {
            mase: (!scaled.is_empty())
                .then(|| round3(scaled.iter().sum::<f64>() / scaled.len() as f64)),
            coverage: round3(inside as f64 / total as f64),
            folds: origins.len(),
            interval_scale: round3(served),
        },
        served,
    )))
}

/// In-sample mean absolute error of "same weekday last week".
fn seasonal_naive_mae(train: &[f64]) -> Option<f64> {
    let n = train.len().checked_sub(SEASON_DAYS).filter(|n| *n > 0)?;
    Some(
        train
            .windows(SEASON_DAYS + 1)
            .map(|w| (w[SEASON_DAYS] - w[0]).abs())
            .sum::<f64>()
            / n as f64,
    )
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `GET /api/v1/revenue/forecast`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ForecastReport {
    /// `daily`.
    pub period: String,
    pub horizon: usize,
    /// `ok`, or `insufficient_history` (no points, no backtest).
    pub status: String,
    /// Days the forecast learns from: complete New York days since the first revenue.
    pub history_days: usize,
    pub min_history_days: usize,
    pub model: String,
    /// The prediction interval's level (0.8: four days in five should fall inside).
    pub level: f64,
    /// The daily revenue the model learned from, oldest first.
    pub history: Vec<HistoryDay>,
    /// One point per day after the history, each with its interval.
    pub points: Vec<PointView>,
    /// The measured accuracy; absent when the history is too short to hold out a fold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backtest: Option<Backtest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HistoryDay {
    /// New York date, `YYYY-MM-DD`.
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub revenue: Usd,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PointView {
    /// New York date, `YYYY-MM-DD`.
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub revenue: Usd,
    pub lower: Usd,
    pub upper: Usd,
}

impl ForecastReport {
    /// The answer for `daily` (complete days, oldest first): the forecast, or
    /// `insufficient_history` when there is too little of it. Other errors (a bad horizon
    /// or level) are the caller's to refuse before.
    pub fn daily(
        daily: &[(NaiveDate, Cents)],
        horizon: usize,
        level: f64,
    ) -> Result<ForecastReport, ForecastError> {
        let history: Vec<HistoryDay> = daily
            .iter()
            .skip_while(|(_, c)| *c == Cents::ZERO)
            .map(|(date, c)| HistoryDay {
                date: *date,
                revenue: Usd(*c),
            })
            .collect();
        let mut report = ForecastReport {
            period: "daily".into(),
            horizon,
            status: "ok".into(),
            history_days: history.len(),
            min_history_days: MIN_HISTORY_DAYS,
            model: MODEL_NAME.into(),
            level,
            history,
            points: Vec::new(),
            backtest: None,
        };
        match forecast(daily, horizon, level) {
            Ok(f) => {
                report.history_days = f.history_days;
                report.points = f
                    .points
                    .iter()
                    .map(|p| PointView {
                        date: p.date,
                        revenue: Usd(p.revenue),
                        lower: Usd(p.lower),
                        upper: Usd(p.upper),
                    })
                    .collect();
                report.backtest = f.backtest;
                Ok(report)
            }
            Err(ForecastError::InsufficientHistory { have, .. }) => {
                report.status = "insufficient_history".into();
                report.history_days = have;
                Ok(report)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 5)
            .and_then(|d| d.checked_add_days(Days::new(n)))
            .expect("date")
    }

    /// Weekday pattern in dollars (Monday first) plus a trend of `trend` dollars a day and
    /// a deterministic wobble of ±5%.
    fn weekly(days: usize, trend: f64) -> Vec<(NaiveDate, Cents)> {
        const PATTERN: [f64; 7] = [900.0, 1000.0, 1100.0, 1050.0, 950.0, 500.0, 400.0];
        (0..days)
            .map(|i| {
                let wobble = 1.0 + 0.05 * ((i as f64 * 2.3).sin());
                let dollars = (PATTERN[i % 7] + trend * i as f64) * wobble;
                (day(i as u64), Cents((dollars * 100.0).round() as i64))
            })
            .collect()
    }

    #[test]
    fn given_a_weekly_pattern_with_a_trend_when_forecast_then_it_follows_the_pattern_and_beats_seasonal_naive()
     {
        // GIVEN six weeks of a weekday pattern growing $5 a day
        let history = weekly(42, 5.0);
        // WHEN the next week is forecast at 80%
        let f = forecast(&history, 7, 0.8).expect("forecast");
        // THEN each day is within 10% of the pattern's continuation
        let truth = weekly(49, 5.0);
        assert_eq!(f.points.len(), 7);
        for (p, (date, actual)) in f.points.iter().zip(&truth[42..]) {
            assert_eq!(p.date, *date);
            let err = (p.revenue.0 - actual.0).abs() as f64 / actual.0 as f64;
            assert!(err < 0.10, "{date}: {} vs {}", p.revenue.0, actual.0);
            assert!(p.lower <= p.revenue && p.revenue <= p.upper);
        }
        // AND the backtest measured it: better than seasonal naive, sane coverage
        let b = f.backtest.expect("backtest");
        assert_eq!(b.folds, MAX_FOLDS);
        let mase = b.mase.expect("mase");
        assert!(mase < 1.0, "MASE {mase}");
        // the served 80% interval, calibrated on the other folds, held about 80% of days
        assert!(
            (0.65..=0.95).contains(&b.coverage),
            "coverage {}",
            b.coverage
        );
        assert!(b.interval_scale >= 1.0);
        assert_eq!(f.history_days, 42);
    }

    #[test]
    fn given_backtest_misses_then_the_interval_is_widened_to_hold_the_level() {
        // GIVEN ratios of 10 backtest days: 6 inside the model's interval, 4 outside
        let ratios = [0.2, 0.5, 0.9, 1.0, 0.3, 0.7, 1.5, 2.0, 1.2, 3.0];
        // THEN 80% needs the 8th smallest: ×1.5
        assert_eq!(scale_for(&ratios, 0.8), Some(1.5));
        // AND an interval already wide enough is not narrowed
        assert_eq!(scale_for(&[0.1, 0.2, 0.3], 0.8), Some(1.0));
        assert_eq!(scale_for(&[], 0.8), None);
        assert_eq!(scale_for(&[0.5, f64::INFINITY], 0.8), None);
        // AND a ratio is measured on the side the actual fell
        assert_eq!(interval_ratio((100.0, 80.0, 140.0), 60.0), 2.0);
        assert_eq!(interval_ratio((100.0, 80.0, 140.0), 120.0), 0.5);
        assert_eq!(interval_ratio((100.0, 100.0, 100.0), 100.0), 0.0);
        assert_eq!(interval_ratio((100.0, 100.0, 100.0), 101.0), f64::INFINITY);
        // AND widening keeps the order and zero floor
        assert_eq!(
            finish(vec![(10.0, 4.0, 16.0)], 2.0),
            vec![(10.0, 0.0, 22.0)]
        );
        assert_eq!(finish(vec![(-5.0, -9.0, 1.0)], 1.0), vec![(0.0, 0.0, 1.0)]);
    }

    #[test]
    fn given_a_pattern_then_the_weekend_dip_is_forecast_below_the_weekdays() {
        let history = weekly(28, 0.0);
        // day 28 is a Monday (day 0 is); Saturday is day 33
        let f = forecast(&history, 7, 0.8).expect("forecast");
        let monday = f.points[0].revenue;
        let saturday = f.points[5].revenue;
        assert!(saturday.0 * 3 < monday.0 * 2, "{saturday:?} vs {monday:?}");
    }

    #[test]
    fn given_fewer_than_two_weeks_when_forecast_then_insufficient_history_says_how_many() {
        let history = weekly(13, 0.0);
        assert_eq!(
            forecast(&history, 7, 0.8),
            Err(ForecastError::InsufficientHistory { have: 13, need: 14 })
        );
        let report = ForecastReport::daily(&history, 7, 0.8).expect("report");
        assert_eq!(report.status, "insufficient_history");
        assert!(report.points.is_empty());
        let json = serde_json::to_value(&report).expect("json");
        assert!(json.get("backtest").is_none());
        assert_eq!(json["history_days"], 13);
        assert_eq!(json["min_history_days"], 14);
        assert_eq!(json["history"].as_array().map(Vec::len), Some(13));
    }

    #[test]
    fn given_leading_days_without_revenue_then_they_do_not_count_as_history() {
        // GIVEN 20 empty days, then 10 days of sales
        let mut history: Vec<_> = (0..20).map(|i| (day(i), Cents::ZERO)).collect();
        history.extend(
            weekly(10, 0.0)
                .into_iter()
                .map(|(d, c)| (d + Days::new(20), c)),
        );
        // THEN only the 10 count
        assert_eq!(
            forecast(&history, 7, 0.8),
            Err(ForecastError::InsufficientHistory { have: 10, need: 14 })
        );
    }

    #[test]
    fn given_a_missing_day_then_it_counts_as_zero_and_dates_continue() {
        let mut history = weekly(21, 0.0);
        history.remove(10);
        let f = forecast(&history, 3, 0.8).expect("forecast");
        assert_eq!(f.history_days, 21);
        assert_eq!(f.points[0].date, day(21));
    }

    #[test]
    fn given_a_constant_series_then_the_forecast_is_that_constant_without_nan() {
        let value = Cents(50_000);
        let history: Vec<_> = (0..21).map(|i| (day(i), value)).collect();
        let f = forecast(&history, 7, 0.8).expect("forecast");
        for p in &f.points {
            assert_eq!((p.lower, p.revenue, p.upper), (value, value, value));
        }
        let b = f.backtest.expect("backtest");
        assert_eq!(b.mase, None, "no week-on-week change to scale by");
        assert_eq!(b.coverage, 1.0);
        let json = serde_json::to_string(&ForecastReport::daily(&history, 7, 0.8).expect("r"))
            .expect("json");
        assert!(!json.contains("NaN"));
    }

    #[test]
    fn given_only_zero_days_then_there_is_no_history_yet() {
        let history: Vec<_> = (0..40).map(|i| (day(i), Cents::ZERO)).collect();
        assert_eq!(
            forecast(&history, 7, 0.8),
            Err(ForecastError::InsufficientHistory { have: 0, need: 14 })
        );
        let report = ForecastReport::daily(&history, 7, 0.8).expect("report");
        assert_eq!(
            (report.status.as_str(), report.history_days),
            ("insufficient_history", 0)
        );
        assert!(report.history.is_empty());
    }

    #[test]
    fn given_sales_that_stop_then_the_zero_weeks_forecast_zero_without_nan() {
        // GIVEN one week of sales, then three weeks of nothing
        let mut history = weekly(7, 0.0);
        history.extend((7..28).map(|i| (day(i), Cents::ZERO)));
        let f = forecast(&history, 7, 0.8).expect("forecast");
        for p in &f.points {
            assert!(Cents::ZERO <= p.lower && p.lower <= p.revenue && p.revenue <= p.upper);
            assert!(p.revenue.0 < 10_000, "{p:?}");
        }
        let b = f.backtest.expect("backtest");
        assert!(b.coverage.is_finite() && b.mase.is_none_or(f64::is_finite));
    }

    #[test]
    fn given_a_collapsing_series_then_no_point_or_bound_is_negative() {
        // GIVEN revenue falling $100 a day towards zero
        let history: Vec<_> = (0..21)
            .map(|i| (day(i), Cents::from_dollars(2_100 - 100 * i as i64)))
            .collect();
        let f = forecast(&history, 14, 0.95).expect("forecast");
        for p in &f.points {
            assert!(p.lower >= Cents::ZERO && p.lower <= p.revenue && p.revenue <= p.upper);
        }
    }

    #[test]
    fn given_a_bad_horizon_level_or_order_then_typed_errors() {
        let history = weekly(21, 0.0);
        assert!(matches!(
            forecast(&history, 0, 0.8),
            Err(ForecastError::InvalidHorizon { got: 0, .. })
        ));
        assert!(matches!(
            forecast(&history, 32, 0.8),
            Err(ForecastError::InvalidHorizon { got: 32, .. })
        ));
        for level in [0.0, 1.0, f64::NAN, -0.5] {
            assert!(matches!(
                forecast(&history, 7, level),
                Err(ForecastError::InvalidLevel(_))
            ));
        }
        let mut swapped = history.clone();
        swapped.swap(3, 4);
        assert_eq!(
            forecast(&swapped, 7, 0.8),
            Err(ForecastError::UnorderedHistory(day(3)))
        );
    }

    #[test]
    fn given_a_report_then_its_json_has_the_api_shape() {
        let report = ForecastReport::daily(&weekly(30, 2.0), 7, 0.8).expect("report");
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["status"], "ok");
        assert_eq!(json["period"], "daily");
        assert_eq!(json["horizon"], 7);
        assert_eq!(json["history_days"], 30);
        assert_eq!(json["level"], 0.8);
        assert_eq!(json["points"].as_array().map(Vec::len), Some(7));
        assert_eq!(json["points"][0]["date"], day(30).to_string());
        assert!(json["points"][0]["revenue"].is_number());
        assert!(json["points"][0]["lower"].is_number());
        assert!(json["backtest"]["mase"].is_number());
        assert!(json["backtest"]["coverage"].is_number());
        assert_eq!(json["history"][0]["date"], day(0).to_string());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn any_history_gives_ordered_non_negative_points_or_a_typed_error(
            dollars in proptest::collection::vec(0i64..5_000, 0..45),
            spikes in proptest::collection::vec((0usize..45, 0i64..1_000_000), 0..3),
            horizon in 1usize..=14,
            level in 0.5f64..0.99,
        ) {
            let mut values: Vec<i64> = dollars.iter().map(|d| d * 100).collect();
            for (i, v) in spikes {
                if let Some(slot) = values.get_mut(i) {
                    *slot = v * 100;
                }
            }
            let history: Vec<_> = values
                .iter()
                .enumerate()
                .map(|(i, c)| (day(i as u64), Cents(*c)))
                .collect();
            match forecast(&history, horizon, level) {
                Ok(f) => {
                    prop_assert_eq!(f.points.len(), horizon);
                    for p in &f.points {
                        prop_assert!(Cents::ZERO <= p.lower);
                        prop_assert!(p.lower <= p.revenue && p.revenue <= p.upper);
                    }
                    if let Some(b) = f.backtest {
                        prop_assert!((0.0..=1.0).contains(&b.coverage));
                        prop_assert!(b.mase.is_none_or(|m| m.is_finite() && m >= 0.0));
                    }
                }
                Err(ForecastError::InsufficientHistory { have, need }) => {
                    prop_assert!(have < need);
                }
                Err(ForecastError::Model(_)) => {}
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }
}

//! Revenue forecasts by New York hour, day or ISO week.
//!
//! Each period has its model:
//!
//! * **daily**: the series is split by MSTL (seasonal-trend decomposition by LOESS) into a
//!   weekly seasonal part and the rest; an AutoETS model (additive errors, trend chosen by
//!   likelihood) forecasts the rest with its prediction interval, and the last week's
//!   seasonal profile is added back.
//! * **hourly**: the same with a daily season (24 hours), and a weekly one too (168 hours)
//!   once the history holds two weeks of hours.
//! * **weekly**: AutoETS on the weekly totals, no season (a year's seasonality would need
//!   two years of history).
//!
//! Each forecast comes with its measured accuracy: a rolling-origin backtest on the same
//! history gives the MASE (mean absolute error scaled by the in-sample error of the
//! seasonal naive forecast: "same hour yesterday", "same weekday last week", "last week";
//! below 1 beats it) and the share of actual periods that fell inside the prediction
//! interval, which is calibrated on that backtest (see [`backtest`]).
//!
//! Revenue is never negative: points and interval bounds are clamped at zero (the model
//! itself is additive and can dip below zero on a weak weekday or a night hour).
//!
//! Hours are New York wall-clock hours, as the counters keep them: on the day the clocks
//! go back, 01:00 holds two hours of revenue; on the day they go forward, 02:00 does not
//! exist and is left out of the history and the points (the model sees it as an hour
//! without revenue, so that every day has 24).
//!
//! Pure: the caller passes the history (one figure per complete period, oldest first).

use crate::domain::money::{Cents, Usd};
use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use augurs_mstl::MSTLModel;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeDelta};
use chrono_tz::America::New_York;
use serde::{Deserialize, Serialize};

/// Days per season: daily revenue follows the week.
pub const SEASON_DAYS: usize = 7;
/// Shortest daily history the model is fitted on: two full weeks, so that the
/// decomposition sees each weekday twice.
pub const MIN_HISTORY_DAYS: usize = 2 * SEASON_DAYS;
/// Longest daily horizon answered (beyond a month a weekly model says little).
pub const MAX_HORIZON_DAYS: usize = 31;
/// Most backtest folds (each refits the model).
pub const MAX_FOLDS: usize = 4;
/// Days between two backtest origins of the daily forecast.
pub const FOLD_STEP_DAYS: usize = 3;
/// The daily model as the API names it.
pub const MODEL_NAME: &str = "ETS with weekly seasonality (MSTL + AutoETS)";

/// Hours per day: hourly revenue follows the day.
pub const HOURS_PER_DAY: usize = 24;
/// Hours per week: the hourly model adds this season once the history holds two of them.
pub const HOURS_PER_WEEK: usize = 7 * HOURS_PER_DAY;
/// Shortest hourly history: seven days of hours.
pub const MIN_HISTORY_HOURS: usize = HOURS_PER_WEEK;
/// Longest hourly horizon: a week.
pub const MAX_HORIZON_HOURS: usize = HOURS_PER_WEEK;
/// Days of hours the hourly model is fitted on at most (four weeks: the weekly season
/// seen four times, and a fit that stays cheap).
pub const HOURLY_HISTORY_DAYS: i64 = 28;
/// The hourly model as the API names it.
pub const HOURLY_MODEL_NAME: &str =
    "ETS with daily and weekly seasonality (MSTL + AutoETS; weekly from two weeks of hours)";

/// Shortest weekly history: seven complete weeks (AutoETS needs more than six values).
pub const MIN_HISTORY_WEEKS: usize = 7;
/// Longest weekly horizon: a quarter.
pub const MAX_HORIZON_WEEKS: usize = 12;
/// Complete weeks the weekly forecast reads (half a year).
pub const WEEKLY_HISTORY_WEEKS: i64 = 26;
/// The weekly model as the API names it.
pub const WEEKLY_MODEL_NAME: &str = "ETS without seasonality (AutoETS)";

/// The period a forecast counts revenue by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// New York wall-clock hours.
    Hourly,
    /// New York days.
    Daily,
    /// ISO weeks, Monday to Sunday, New York.
    Weekly,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Hourly, Period::Daily, Period::Weekly];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Hourly => "hourly",
            Period::Daily => "daily",
            Period::Weekly => "weekly",
        }
    }

    /// The unit of the horizon and of the history's length.
    pub fn unit(self) -> &'static str {
        match self {
            Period::Hourly => "hours",
            Period::Daily => "days",
            Period::Weekly => "weeks",
        }
    }

    pub fn max_horizon(self) -> usize {
        match self {
            Period::Hourly => MAX_HORIZON_HOURS,
            Period::Daily => MAX_HORIZON_DAYS,
            Period::Weekly => MAX_HORIZON_WEEKS,
        }
    }

    /// The horizon when none is asked for: a day of hours, a week of days, four weeks.
    pub fn default_horizon(self) -> usize {
        match self {
            Period::Hourly => HOURS_PER_DAY,
            Period::Daily => SEASON_DAYS,
            Period::Weekly => 4,
        }
    }

    /// The shortest history (in periods) a model is fitted on.
    pub fn min_history(self) -> usize {
        match self {
            Period::Hourly => MIN_HISTORY_HOURS,
            Period::Daily => MIN_HISTORY_DAYS,
            Period::Weekly => MIN_HISTORY_WEEKS,
        }
    }

    pub fn model_name(self) -> &'static str {
        match self {
            Period::Hourly => HOURLY_MODEL_NAME,
            Period::Daily => MODEL_NAME,
            Period::Weekly => WEEKLY_MODEL_NAME,
        }
    }

    /// Periods between two backtest origins.
    fn fold_step(self) -> usize {
        match self {
            Period::Hourly => HOURS_PER_DAY,
            Period::Daily => FOLD_STEP_DAYS,
            Period::Weekly => 1,
        }
    }

    /// The seasonal naive forecast's lag: same hour yesterday, same weekday last week,
    /// last week.
    fn naive_lag(self) -> usize {
        match self {
            Period::Hourly => HOURS_PER_DAY,
            Period::Daily => SEASON_DAYS,
            Period::Weekly => 1,
        }
    }

    /// The seasons a history of `len` periods is decomposed by (none: plain AutoETS).
    fn seasons(self, len: usize) -> Vec<usize> {
        match self {
            Period::Hourly if len >= 2 * HOURS_PER_WEEK => vec![HOURS_PER_DAY, HOURS_PER_WEEK],
            Period::Hourly => vec![HOURS_PER_DAY],
            Period::Daily => vec![SEASON_DAYS],
            Period::Weekly => Vec::new(),
        }
    }

    /// One period's length on the New York wall clock.
    fn step(self) -> TimeDelta {
        match self {
            Period::Hourly => TimeDelta::hours(1),
            Period::Daily => TimeDelta::days(1),
            Period::Weekly => TimeDelta::weeks(1),
        }
    }

    /// Days a history of `periods` periods covers (hours: whole days, rounded up).
    pub fn days_of(self, periods: usize) -> usize {
        match self {
            Period::Hourly => periods.div_ceil(HOURS_PER_DAY),
            Period::Daily => periods,
            Period::Weekly => periods * 7,
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why no forecast was made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    #[error("{have} {unit} of revenue history; a forecast needs at least {need}")]
    InsufficientHistory {
        have: usize,
        need: usize,
        unit: &'static str,
    },
    #[error("horizon must be 1 to {max} {unit}, not {got}")]
    InvalidHorizon {
        got: usize,
        max: usize,
        unit: &'static str,
    },
    #[error("the prediction interval level must be between 0 and 1 (exclusive), not {0}")]
    InvalidLevel(f64),
    #[error("the history's periods must be in order and distinct ({0} repeats or goes back)")]
    UnorderedHistory(NaiveDateTime),
    #[error("{0} does not start a {1} period")]
    MisalignedHistory(NaiveDateTime, Period),
    #[error("the model could not be fitted: {0}")]
    Model(String),
}

/// One forecast period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForecastPoint {
    /// The New York date the period starts on.
    pub date: NaiveDate,
    /// When the period starts, New York time.
    pub period_start: DateTime<FixedOffset>,
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
    /// than "same hour yesterday", "same weekday last week" or "last week", by period);
    /// absent when the history has no change at that lag to scale by (a constant series).
    #[schema(required = true)]
    pub mase: Option<f64>,
    /// Share of the backtest's actual periods inside the prediction interval.
    pub coverage: f64,
    /// Rolling origins the model was refitted at.
    pub folds: usize,
    /// How much the model's own interval was widened to hold `level` of the backtest
    /// periods (1: not at all).
    pub interval_scale: f64,
}

/// A fitted forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub period: Period,
    /// Periods the model was fitted on (from the first one with revenue).
    pub history_periods: usize,
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
    forecast_period(Period::Daily, &at_midnight(daily), horizon, level)
}

/// Forecasts `horizon` New York hours after the last hour of `hourly` (each entry the
/// wall-clock start of a complete hour, oldest first; a missing hour counts as zero; the
/// days before the first day with revenue are left out).
pub fn forecast_hourly(
    hourly: &[(NaiveDateTime, Cents)],
    horizon: usize,
    level: f64,
) -> Result<Forecast, ForecastError> {
    forecast_period(Period::Hourly, hourly, horizon, level)
}

/// Forecasts `horizon` ISO weeks after the last week of `weekly` (each entry a complete
/// week by its Monday, oldest first; a missing week counts as zero; weeks before the
/// first revenue are left out).
pub fn forecast_weekly(
    weekly: &[(NaiveDate, Cents)],
    horizon: usize,
    level: f64,
) -> Result<Forecast, ForecastError> {
    forecast_period(Period::Weekly, &at_midnight(weekly), horizon, level)
}

fn at_midnight(days: &[(NaiveDate, Cents)]) -> Vec<(NaiveDateTime, Cents)> {
    days.iter()
        .map(|(d, c)| (d.and_time(chrono::NaiveTime::MIN), *c))
        .collect()
}

/// The forecast of `period` from `history` (wall-clock period starts, oldest first).
pub fn forecast_period(
    period: Period,
    history: &[(NaiveDateTime, Cents)],
    horizon: usize,
    level: f64,
) -> Result<Forecast, ForecastError> {
    if horizon == 0 || horizon > period.max_horizon() {
        return Err(ForecastError::InvalidHorizon {
            got: horizon,
            max: period.max_horizon(),
            unit: period.unit(),
        });
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(ForecastError::InvalidLevel(level));
    }
    let (start, series) = dense_series(period, history)?;
    let Some(start) = start.filter(|_| series.len() >= period.min_history()) else {
        return Err(ForecastError::InsufficientHistory {
            have: series.len(),
            need: period.min_history(),
            unit: period.unit(),
        });
    };
    let bt = backtest(period, &series, horizon, level)?;
    let scale = bt.as_ref().map_or(1.0, |(_, scale)| *scale);
    // An hour the clocks skip is no point: one more is forecast so that `horizon` remain.
    let extra = usize::from(period == Period::Hourly);
    let fitted = finish(fit_raw(period, &series, horizon + extra, level)?, scale);
    let mut points = Vec::with_capacity(horizon);
    for (i, (point, lower, upper)) in fitted.into_iter().enumerate() {
        let slot = slot_start(period, start, series.len() + i)?;
        let Some(period_start) = new_york(slot) else {
            continue;
        };
        if points.len() == horizon {
            break;
        }
        points.push(ForecastPoint {
            date: slot.date(),
            period_start,
            revenue: to_cents(point),
            lower: to_cents(lower),
            upper: to_cents(upper),
        });
    }
    Ok(Forecast {
        period,
        history_periods: series.len(),
        level,
        points,
        backtest: bt.map(|(b, _)| b),
    })
}

/// The wall-clock start of the `i`th period from `start`.
fn slot_start(
    period: Period,
    start: NaiveDateTime,
    i: usize,
) -> Result<NaiveDateTime, ForecastError> {
    i32::try_from(i)
        .ok()
        .and_then(|i| period.step().checked_mul(i))
        .and_then(|d| start.checked_add_signed(d))
        .ok_or_else(|| ForecastError::Model("dates out of range".into()))
}

/// A New York wall-clock time as an instant with its offset: the earlier of an hour the
/// clocks repeat; `None` for an hour they skip.
pub fn new_york(local: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    local
        .and_local_timezone(New_York)
        .earliest()
        .map(|t| t.fixed_offset())
}

/// Where the history starts: at the first period with revenue (hourly: at the start of
/// its New York day, or of the history if later); `None` without revenue.
fn trim_start(period: Period, history: &[(NaiveDateTime, Cents)]) -> Option<NaiveDateTime> {
    let first = history.iter().find(|(_, c)| *c != Cents::ZERO)?.0;
    Some(match period {
        Period::Hourly => first
            .date()
            .and_time(chrono::NaiveTime::MIN)
            .max(history.first()?.0),
        Period::Daily | Period::Weekly => first,
    })
}

/// The history as one value per period from the first with revenue (hourly: from the
/// start of its day, or of the history if later), gaps filled with zero; with the start
/// of its first value.
fn dense_series(
    period: Period,
    history: &[(NaiveDateTime, Cents)],
) -> Result<(Option<NaiveDateTime>, Vec<f64>), ForecastError> {
    for pair in history.windows(2) {
        if pair[1].0 <= pair[0].0 {
            return Err(ForecastError::UnorderedHistory(pair[1].0));
        }
    }
    let Some(start) = trim_start(period, history) else {
        // No revenue at all: no history yet.
        return Ok((None, Vec::new()));
    };
    let kept: Vec<_> = history.iter().filter(|(t, _)| *t >= start).collect();
    let step = period.step().num_minutes();
    let index = |t: NaiveDateTime| -> Result<usize, ForecastError> {
        let minutes = (t - start).num_minutes();
        if minutes % step != 0
            || (period == Period::Weekly && t.weekday().num_days_from_monday() != 0)
        {
            return Err(ForecastError::MisalignedHistory(t, period));
        }
        usize::try_from(minutes / step).map_err(|_| ForecastError::MisalignedHistory(t, period))
    };
    let last = kept.last().map_or(Ok(0), |(t, _)| index(*t))?;
    let mut series = vec![0.0; last + 1];
    for (t, cents) in kept {
        series[index(*t)?] = cents.0 as f64;
    }
    Ok((Some(start), series))
}

fn to_cents(value: f64) -> Cents {
    // Finite by construction (`fit_raw` refuses anything else); clamped at zero.
    Cents(value.max(0.0).round().min(i64::MAX as f64) as i64)
}

/// The model's (point, lower, upper) per horizon period, as fitted (finite, unclamped).
fn fit_raw(
    period: Period,
    series: &[f64],
    horizon: usize,
    level: f64,
) -> Result<Vec<(f64, f64, f64)>, ForecastError> {
    let model_error = |e: &dyn std::fmt::Display| ForecastError::Model(e.to_string());
    let raw = if is_constant(series) {
        // Nothing to decompose or fit: the series goes on as it was, with no spread.
        vec![(series[0], series[0], series[0]); horizon]
    } else {
        let ets = AutoETS::new(1, "AZN").map_err(|e| model_error(&e))?;
        let seasons = period.seasons(series.len());
        let f = if seasons.is_empty() {
            ets.fit(series)
                .map_err(|e| model_error(&e))?
                .predict(horizon, level)
                .map_err(|e| model_error(&e))?
        } else {
            MSTLModel::new(seasons, ets.into_trend_model())
                .fit(series)
                .map_err(|e| model_error(&e))?
                .predict(horizon, level)
                .map_err(|e| model_error(&e))?
        };
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
/// the `horizon` periods after it (the last origin leaves exactly `horizon` periods;
/// earlier ones step back by the period's fold step, [`FOLD_STEP_DAYS`] for days, a day
/// of hours, a week, each keeping at least the period's minimum history).
///
/// The intervals of AutoETS on the deseasonalised series leave out the seasonal part's
/// uncertainty and tend to be narrow, so they are calibrated on the backtest (split
/// conformal): the served interval is the model's widened by the factor that would have
/// held `level` of the backtest periods. The coverage reported is cross-validated: each
/// fold's periods are scored against the factor learned from the other folds only. Returns
/// the backtest and the factor for the served interval.
fn backtest(
    period: Period,
    series: &[f64],
    horizon: usize,
    level: f64,
) -> Result<Option<(Backtest, f64)>, ForecastError> {
    let Some(last_origin) = series.len().checked_sub(horizon) else {
        return Ok(None);
    };
    let origins: Vec<usize> = (0..MAX_FOLDS)
        .filter_map(|k| last_origin.checked_sub(k * period.fold_step()))
        .filter(|origin| *origin >= period.min_history())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let mut scaled = Vec::new();
    let mut ratios: Vec<Vec<f64>> = Vec::new();
    for origin in &origins {
        let train = &series[..*origin];
        let actual = &series[*origin..*origin + horizon];
        let raw = fit_raw(period, train, horizon, level)?;
        let predicted = finish(raw.clone(), 1.0);
        let errors: f64 = predicted
            .iter()
            .zip(actual)
            .map(|((p, _, _), a)| (p - a).abs())
            .sum::<f64>()
            / horizon as f64;
        if let Some(scale) = seasonal_naive_mae(train, period.naive_lag()).filter(|s| *s > 0.0) {
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

/// In-sample mean absolute error of the seasonal naive forecast: the value `lag` periods
/// before ("same weekday last week" for days at lag 7).
fn seasonal_naive_mae(train: &[f64], lag: usize) -> Option<f64> {
    let n = train.len().checked_sub(lag).filter(|n| *n > 0)?;
    Some(
        train
            .windows(lag + 1)
            .map(|w| (w[lag] - w[0]).abs())
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
    /// `hourly`, `daily` or `weekly`.
    pub period: String,
    /// Periods forecast, in `unit`s; the first is the current hour, day or week.
    pub horizon: usize,
    /// The unit of `horizon`, `history_periods` and `min_history_periods`: `hours`,
    /// `days` or `weeks`.
    pub unit: String,
    /// `ok`, or `insufficient_history` (no points, no backtest).
    pub status: String,
    /// Days the forecast learns from: the complete New York days since the first revenue
    /// (hourly: the days its hours cover, a part day counting as one; weekly: seven per
    /// week).
    pub history_days: usize,
    /// The shortest history in days (hourly 7, daily 14, weekly 49).
    pub min_history_days: usize,
    /// Periods the forecast learns from, in `unit`s: complete hours (New York wall-clock
    /// hours, 24 every day, from the start of the first day with revenue), days or ISO
    /// weeks since the first revenue.
    pub history_periods: usize,
    /// The shortest history in `unit`s: 168 hours, 14 days or 7 weeks.
    pub min_history_periods: usize,
    pub model: String,
    /// The prediction interval's level (0.8: four periods in five should fall inside).
    pub level: f64,
    /// The revenue per period the model learned from, oldest first.
    pub history: Vec<HistoryDay>,
    /// One point per period after the history, each with its interval.
    pub points: Vec<PointView>,
    /// The same points as `points`, under the name the product guide's clients read:
    /// always present, empty when the history is too short.
    pub forecast_data: Vec<PointView>,
    /// The measured accuracy; absent when the history is too short to hold out a fold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backtest: Option<Backtest>,
}

/// One period of the history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HistoryDay {
    /// The New York date the period starts on, `YYYY-MM-DD` (weekly: its Monday).
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// When the period starts: RFC 3339 with the New York offset, e.g.
    /// `2026-03-09T14:00:00-04:00` (daily and weekly: midnight).
    #[schema(value_type = String, format = DateTime)]
    pub period_start: DateTime<FixedOffset>,
    /// Net revenue of the period.
    pub revenue: Usd,
}

/// One forecast period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PointView {
    /// The New York date the period starts on, `YYYY-MM-DD` (weekly: its Monday).
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// When the period starts: RFC 3339 with the New York offset, e.g.
    /// `2026-03-09T14:00:00-04:00` (daily and weekly: midnight).
    #[schema(value_type = String, format = DateTime)]
    pub period_start: DateTime<FixedOffset>,
    /// The point forecast of net revenue, never below zero.
    pub revenue: Usd,
    /// The prediction interval at `level`: `0 <= lower <= revenue <= upper`.
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
        ForecastReport::of(Period::Daily, &at_midnight(daily), horizon, level)
    }

    /// The answer for `hourly` (wall-clock starts of complete New York hours, oldest
    /// first), as [`ForecastReport::daily`].
    pub fn hourly(
        hourly: &[(NaiveDateTime, Cents)],
        horizon: usize,
        level: f64,
    ) -> Result<ForecastReport, ForecastError> {
        ForecastReport::of(Period::Hourly, hourly, horizon, level)
    }

    /// The answer for `weekly` (complete ISO weeks by their Monday, oldest first), as
    /// [`ForecastReport::daily`].
    pub fn weekly(
        weekly: &[(NaiveDate, Cents)],
        horizon: usize,
        level: f64,
    ) -> Result<ForecastReport, ForecastError> {
        ForecastReport::of(Period::Weekly, &at_midnight(weekly), horizon, level)
    }

    /// The answer for `period` from its history (wall-clock period starts, oldest first).
    pub fn of(
        period: Period,
        history: &[(NaiveDateTime, Cents)],
        horizon: usize,
        level: f64,
    ) -> Result<ForecastReport, ForecastError> {
        let start = trim_start(period, history);
        let shown: Vec<HistoryDay> = history
            .iter()
            .filter(|(t, _)| start.is_some_and(|s| *t >= s))
            .filter_map(|(t, c)| {
                Some(HistoryDay {
                    date: t.date(),
                    period_start: new_york(*t)?,
                    revenue: Usd(*c),
                })
            })
            .collect();
        let mut report = ForecastReport {
            period: period.as_str().into(),
            horizon,
            unit: period.unit().into(),
            status: "ok".into(),
            history_days: 0,
            min_history_days: period.days_of(period.min_history()),
            history_periods: 0,
            min_history_periods: period.min_history(),
            model: period.model_name().into(),
            level,
            history: shown,
            points: Vec::new(),
            forecast_data: Vec::new(),
            backtest: None,
        };
        let have = match forecast_period(period, history, horizon, level) {
            Ok(f) => {
                report.points = f
                    .points
                    .iter()
                    .map(|p| PointView {
                        date: p.date,
                        period_start: p.period_start,
                        revenue: Usd(p.revenue),
                        lower: Usd(p.lower),
                        upper: Usd(p.upper),
                    })
                    .collect();
                report.forecast_data = report.points.clone();
                report.backtest = f.backtest;
                f.history_periods
            }
            Err(ForecastError::InsufficientHistory { have, .. }) => {
                report.status = "insufficient_history".into();
                have
            }
            Err(e) => return Err(e),
        };
        report.history_periods = have;
        report.history_days = period.days_of(have);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Days;
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
        assert_eq!(f.history_periods, 42);
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
            Err(ForecastError::InsufficientHistory {
                have: 13,
                need: 14,
                unit: "days"
            })
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
            Err(ForecastError::InsufficientHistory {
                have: 10,
                need: 14,
                unit: "days"
            })
        );
    }

    #[test]
    fn given_a_missing_day_then_it_counts_as_zero_and_dates_continue() {
        let mut history = weekly(21, 0.0);
        history.remove(10);
        let f = forecast(&history, 3, 0.8).expect("forecast");
        assert_eq!(f.history_periods, 21);
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
            Err(ForecastError::InsufficientHistory {
                have: 0,
                need: 14,
                unit: "days"
            })
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
            Err(ForecastError::UnorderedHistory(
                day(3).and_time(chrono::NaiveTime::MIN)
            ))
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

    fn hour(day_n: u64, h: u32) -> NaiveDateTime {
        day(day_n).and_hms_opt(h, 0, 0).expect("hour")
    }

    /// Dollars per New York hour: nothing at night, a midday peak, weekends at half, a
    /// deterministic wobble of ±5%.
    fn hourly_dollars(i: usize) -> f64 {
        const SHAPE: [f64; 24] = [
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 20.0, 40.0, 60.0, 80.0, 90.0, 100.0, 95.0, 90.0,
            85.0, 80.0, 70.0, 60.0, 45.0, 30.0, 20.0, 10.0, 5.0,
        ];
        let weekday = (i / 24) % 7;
        let week_factor = if weekday >= 5 { 0.5 } else { 1.0 };
        SHAPE[i % 24] * week_factor * (1.0 + 0.05 * (i as f64 * 1.7).sin())
    }

    fn hourly(hours: usize) -> Vec<(NaiveDateTime, Cents)> {
        (0..hours)
            .map(|i| {
                let at = hour((i / 24) as u64, (i % 24) as u32);
                (at, Cents((hourly_dollars(i) * 100.0).round() as i64))
            })
            .collect()
    }

    #[test]
    fn given_three_weeks_of_hours_with_a_daily_pattern_when_forecast_hourly_then_the_next_day_follows_it_within_its_interval()
     {
        // GIVEN 21 days of New York hours, quiet nights and a midday peak (day 0 a Monday)
        let history = hourly(21 * 24);
        // WHEN the next 24 hours (a Monday) are forecast at 80%
        let f = forecast_hourly(&history, 24, 0.8).expect("forecast");
        assert_eq!(f.period, Period::Hourly);
        assert_eq!(f.history_periods, 21 * 24);
        assert_eq!(f.points.len(), 24);
        // THEN each hour starts where the history stopped, New York time (EST in January)
        for (h, p) in f.points.iter().enumerate() {
            assert_eq!(p.date, day(21));
            assert_eq!(
                p.period_start.to_rfc3339(),
                format!("2026-01-26T{h:02}:00:00-05:00")
            );
        }
        // AND the actual hours fall inside their interval, the peak near its value
        let truth = hourly(22 * 24);
        let inside = f
            .points
            .iter()
            .zip(&truth[21 * 24..])
            .filter(|(p, (_, a))| p.lower <= *a && *a <= p.upper)
            .count();
        assert!(inside >= 14, "{inside} of 24 inside");
        // AND every hour is within 10% of the peak of its actual value
        for (p, (at, a)) in f.points.iter().zip(&truth[21 * 24..]) {
            assert!((p.revenue.0 - a.0).abs() < 1_000, "{at}: {p:?} vs {a:?}");
        }
        let noon = f.points[12].revenue.0 as f64;
        let actual_noon = truth[21 * 24 + 12].1.0 as f64;
        assert!(
            (noon - actual_noon).abs() / actual_noon < 0.15,
            "{noon} vs {actual_noon}"
        );
        // AND the night is forecast well below the peak, never below zero
        assert!(f.points[3].revenue.0 * 5 < f.points[12].revenue.0);
        for p in &f.points {
            assert!(Cents::ZERO <= p.lower && p.lower <= p.revenue && p.revenue <= p.upper);
        }
        // AND the backtest beats "same hour yesterday" (which misses the weekend switch)
        let b = f.backtest.expect("backtest");
        assert_eq!(b.folds, MAX_FOLDS);
        let mase = b.mase.expect("mase");
        assert!(mase < 1.0, "MASE {mase}");
        assert!((0.0..=1.0).contains(&b.coverage));
    }

    #[test]
    fn given_two_weeks_of_hours_then_the_hourly_model_adds_the_weekly_season() {
        assert_eq!(Period::Hourly.seasons(167), vec![24]);
        assert_eq!(Period::Hourly.seasons(335), vec![24]);
        assert_eq!(Period::Hourly.seasons(336), vec![24, 168]);
        assert_eq!(Period::Daily.seasons(14), vec![7]);
        assert!(Period::Weekly.seasons(26).is_empty());
    }

    #[test]
    fn given_fewer_than_seven_days_of_hours_when_forecast_hourly_then_insufficient_history_and_empty_forecast_data()
     {
        // GIVEN six days and 23 hours of hours
        let history = hourly(7 * 24 - 1);
        // WHEN forecast
        assert_eq!(
            forecast_hourly(&history, 24, 0.8),
            Err(ForecastError::InsufficientHistory {
                have: 167,
                need: 168,
                unit: "hours"
            })
        );
        // THEN the report says so, in hours and in days, with an empty forecast_data
        let report = ForecastReport::hourly(&history, 24, 0.8).expect("report");
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["status"], "insufficient_history");
        assert_eq!(json["period"], "hourly");
        assert_eq!(json["unit"], "hours");
        assert_eq!(json["history_periods"], 167);
        assert_eq!(json["min_history_periods"], 168);
        assert_eq!(json["history_days"], 7);
        assert_eq!(json["min_history_days"], 7);
        assert_eq!(json["forecast_data"], serde_json::json!([]));
        assert_eq!(json["points"], serde_json::json!([]));
        assert!(json.get("backtest").is_none());
        // AND the hours before the first day with revenue do not count
        let mut late = vec![(hour(0, 5), Cents::ZERO)];
        late.extend(
            hourly(7 * 24)
                .into_iter()
                .map(|(t, c)| (t + Days::new(1), c)),
        );
        let f = forecast_hourly(&late, 1, 0.8).expect("forecast");
        assert_eq!(f.history_periods, 7 * 24);
    }

    #[test]
    fn given_hours_up_to_the_spring_forward_night_when_forecast_hourly_then_the_skipped_hour_has_no_point()
     {
        // GIVEN eight days of hours up to 2026-03-08 00:00, New York (clocks skip 02:00)
        let start = NaiveDate::from_ymd_opt(2026, 2, 28).expect("date");
        let history: Vec<_> = (0..8 * 24 + 1)
            .map(|i| {
                let at = start.and_time(chrono::NaiveTime::MIN) + TimeDelta::hours(i as i64);
                (at, Cents((hourly_dollars(i) * 100.0).round() as i64 + 1))
            })
            .collect();
        // WHEN the next 24 hours are forecast
        let report = ForecastReport::hourly(&history, 24, 0.8).expect("report");
        // THEN there are 24 points, 02:00 is not one, and the offset moves to EDT
        let starts: Vec<String> = report
            .forecast_data
            .iter()
            .map(|p| p.period_start.to_rfc3339())
            .collect();
        assert_eq!(starts.len(), 24);
        assert_eq!(starts[0], "2026-03-08T01:00:00-05:00");
        assert_eq!(starts[1], "2026-03-08T03:00:00-04:00");
        assert_eq!(starts[23], "2026-03-09T01:00:00-04:00");
        assert_eq!(report.points, report.forecast_data);
        // AND consecutive points are an hour apart in real time
        for pair in report.forecast_data.windows(2) {
            assert_eq!(
                pair[1].period_start - pair[0].period_start,
                TimeDelta::hours(1)
            );
        }
    }

    #[test]
    fn given_hourly_sales_that_collapse_then_no_hour_is_forecast_below_zero() {
        // GIVEN a week of busy hours, then a week of revenue falling to almost nothing
        let history: Vec<_> = (0..14 * 24)
            .map(|i| {
                let fade = if i < 7 * 24 { 1.0 } else { 0.02 };
                let at = hour((i / 24) as u64, (i % 24) as u32);
                (at, Cents((hourly_dollars(i) * fade * 100.0).round() as i64))
            })
            .collect();
        let f = forecast_hourly(&history, 168, 0.95).expect("forecast");
        assert_eq!(f.points.len(), 168);
        for p in &f.points {
            assert!(Cents::ZERO <= p.lower && p.lower <= p.revenue && p.revenue <= p.upper);
        }
    }

    fn monday(n: u64) -> NaiveDate {
        day(7 * n)
    }

    /// Weekly totals in dollars: $20,000 growing $500 a week, a deterministic wobble of ±3%.
    fn weekly_totals(weeks: usize) -> Vec<(NaiveDate, Cents)> {
        (0..weeks)
            .map(|i| {
                let dollars = (20_000.0 + 500.0 * i as f64) * (1.0 + 0.03 * (i as f64 * 2.1).sin());
                (monday(i as u64), Cents((dollars * 100.0).round() as i64))
            })
            .collect()
    }

    #[test]
    fn given_half_a_year_of_growing_weeks_when_forecast_weekly_then_the_next_weeks_are_within_their_interval()
     {
        // GIVEN 26 complete ISO weeks growing $500 a week
        let history = weekly_totals(26);
        // WHEN the next four weeks are forecast at 80%
        let f = forecast_weekly(&history, 4, 0.8).expect("forecast");
        assert_eq!((f.period, f.history_periods), (Period::Weekly, 26));
        // THEN each week starts on the Monday after the last, at New York midnight
        let truth = weekly_totals(30);
        for (k, (p, (date, actual))) in f.points.iter().zip(&truth[26..]).enumerate() {
            assert_eq!(p.date, *date);
            assert_eq!(p.date.weekday(), chrono::Weekday::Mon);
            assert_eq!(
                p.period_start,
                new_york(date.and_time(chrono::NaiveTime::MIN)).expect("midnight")
            );
            // AND the actual week is within 5% of its point, and no further out than twice
            // the interval's half-width (the wobble is ±3%)
            let err = (p.revenue.0 - actual.0).abs();
            assert!(
                (err as f64) < 0.05 * actual.0 as f64,
                "week {k}: {p:?} vs {actual:?}"
            );
            assert!(err <= 2 * (p.upper.0 - p.revenue.0).min(p.revenue.0 - p.lower.0));
        }
        // AND most actual weeks fall inside their 80% interval
        let inside = f
            .points
            .iter()
            .zip(&truth[26..])
            .filter(|(p, (_, a))| p.lower <= *a && *a <= p.upper)
            .count();
        assert!(inside >= 2, "{inside} of 4 inside");
        // AND the backtest measured it against "last week"
        let b = f.backtest.expect("backtest");
        assert_eq!(b.folds, MAX_FOLDS);
        assert!(b.mase.is_some_and(|m| m.is_finite() && m < 1.5), "{b:?}");
        let json = serde_json::to_value(ForecastReport::weekly(&history, 4, 0.8).expect("r"))
            .expect("json");
        assert_eq!(json["period"], "weekly");
        assert_eq!(json["unit"], "weeks");
        assert_eq!(json["history_days"], 26 * 7);
        assert_eq!(json["forecast_data"].as_array().map(Vec::len), Some(4));
        assert_eq!(json["forecast_data"][0]["date"], monday(26).to_string());
        assert_eq!(
            json["forecast_data"][0]["period_start"],
            "2026-07-06T00:00:00-04:00"
        );
        assert_eq!(
            json["history"][0]["period_start"],
            "2026-01-05T00:00:00-05:00"
        );
        assert_eq!(json["forecast_data"], json["points"]);
    }

    #[test]
    fn given_six_weeks_when_forecast_weekly_then_insufficient_history() {
        let history = weekly_totals(6);
        assert_eq!(
            forecast_weekly(&history, 4, 0.8),
            Err(ForecastError::InsufficientHistory {
                have: 6,
                need: 7,
                unit: "weeks"
            })
        );
        let report = ForecastReport::weekly(&history, 4, 0.8).expect("report");
        assert_eq!(report.status, "insufficient_history");
        assert_eq!((report.history_periods, report.history_days), (6, 42));
        assert_eq!(
            (report.min_history_periods, report.min_history_days),
            (7, 49)
        );
        assert!(report.forecast_data.is_empty() && report.backtest.is_none());
        // AND seven are enough
        let f = forecast_weekly(&weekly_totals(7), 12, 0.8).expect("forecast");
        assert_eq!(f.points.len(), 12);
    }

    #[test]
    fn given_a_week_not_starting_on_monday_or_a_bad_horizon_then_typed_errors() {
        let mut history = weekly_totals(10);
        history[3].0 = history[3].0 + Days::new(1);
        assert!(matches!(
            forecast_weekly(&history, 4, 0.8),
            Err(ForecastError::MisalignedHistory(_, Period::Weekly))
        ));
        let history = weekly_totals(10);
        assert!(matches!(
            forecast_weekly(&history, 13, 0.8),
            Err(ForecastError::InvalidHorizon {
                got: 13,
                max: 12,
                unit: "weeks"
            })
        ));
        assert!(matches!(
            forecast_hourly(&hourly(200), 169, 0.8),
            Err(ForecastError::InvalidHorizon {
                got: 169,
                max: 168,
                unit: "hours"
            })
        ));
        let mut half_hour = hourly(200);
        half_hour[100].0 += TimeDelta::minutes(30);
        assert!(matches!(
            forecast_hourly(&half_hour, 24, 0.8),
            Err(ForecastError::MisalignedHistory(_, Period::Hourly))
        ));
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
                Err(ForecastError::InsufficientHistory { have, need, .. }) => {
                    prop_assert!(have < need);
                }
                Err(ForecastError::Model(_)) => {}
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }

        #[test]
        fn any_weekly_history_gives_ordered_non_negative_weeks_or_a_typed_error(
            dollars in proptest::collection::vec(0i64..50_000, 0..30),
            horizon in 1usize..=MAX_HORIZON_WEEKS,
            level in 0.5f64..0.99,
        ) {
            let history: Vec<_> = dollars
                .iter()
                .enumerate()
                .map(|(i, d)| (monday(i as u64), Cents(d * 100)))
                .collect();
            check(forecast_weekly(&history, horizon, level), horizon)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6))]

        #[test]
        fn any_hourly_history_gives_ordered_non_negative_hours_or_a_typed_error(
            dollars in proptest::collection::vec(0i64..500, 150..400),
            horizon in 1usize..=MAX_HORIZON_HOURS,
        ) {
            let history: Vec<_> = dollars
                .iter()
                .enumerate()
                .map(|(i, d)| (hour((i / 24) as u64, (i % 24) as u32), Cents(d * 100)))
                .collect();
            check(forecast_hourly(&history, horizon, 0.8), horizon)?;
        }
    }

    fn check(
        result: Result<Forecast, ForecastError>,
        horizon: usize,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        match result {
            Ok(f) => {
                prop_assert_eq!(f.points.len(), horizon);
                for p in &f.points {
                    prop_assert!(Cents::ZERO <= p.lower);
                    prop_assert!(p.lower <= p.revenue && p.revenue <= p.upper);
                }
                for pair in f.points.windows(2) {
                    prop_assert!(pair[0].period_start < pair[1].period_start);
                }
                if let Some(b) = f.backtest {
                    prop_assert!((0.0..=1.0).contains(&b.coverage));
                    prop_assert!(b.mase.is_none_or(|m| m.is_finite() && m >= 0.0));
                }
            }
            Err(ForecastError::InsufficientHistory { have, need, .. }) => {
                prop_assert!(have < need);
            }
            Err(ForecastError::Model(_)) => {}
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
        Ok(())
    }
}

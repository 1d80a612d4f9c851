//! `GET /api/v1/revenue/forecast?period=hourly|daily|weekly&horizon=N`: the revenue
//! forecast by New York hour, day or ISO week from the kept day totals (complete periods
//! only; the current hour, day or week is the first forecast one), with its prediction
//! interval and measured backtest accuracy (`aurum::domain::forecast`). Served from a
//! snapshot per period and horizon refreshed at most every 15 seconds, like the other
//! revenue reads.

use crate::revenue::RevenueState;
use aurum::backend::Backend;
use aurum::domain::forecast::{ForecastError, ForecastReport, Period};
use aurum::http::ApiError;
use aurum::ports::StoreError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

pub const FORECAST_ROUTE: &str = "/api/v1/revenue/forecast";

/// The prediction interval's level.
pub const LEVEL: f64 = 0.8;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// `hourly` (New York hours), `daily` (New York days, the default) or `weekly` (ISO
    /// weeks, Monday to Sunday, New York).
    #[param(inline)]
    period: Option<Period>,
    /// Periods to forecast, the first being the current one, 1 to 168: hourly up to 168
    /// hours (default 24), daily up to 31 days (default 7), weekly up to 12 weeks (default
    /// 4). A longer daily or weekly horizon is cut to the period's most (the answer's
    /// `horizon` is the one used).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 168, example = 7)]
    horizon: Option<String>,
}

/// The largest horizon a query may ask for (a week of hours).
const MAX_ASKED_HORIZON: usize = 168;

/// The period asked for and its horizon, within the period's bounds.
fn period_and_horizon(q: &ForecastQuery) -> Result<(Period, usize), ApiError> {
    let period = q.period.unwrap_or(Period::Daily);
    let Some(raw) = q.horizon.as_deref() else {
        return Ok((period, period.default_horizon()));
    };
    // Any horizon the document allows is answered: beyond a period's most, its most.
    match raw.parse::<usize>() {
        Ok(h) if (1..=MAX_ASKED_HORIZON).contains(&h) => Ok((period, h.min(period.max_horizon()))),
        _ => Err(ApiError::Invalid(format!(
            "horizon must be a whole number from 1 to {MAX_ASKED_HORIZON} ({} for period={period}, at most {})",
            period.unit(),
            period.max_horizon()
        ))),
    }
}

/// The revenue forecast by hour, day or week
///
/// Fitted on ledger net revenue of complete New York periods from the first revenue; the
/// first forecast period is the current one (this hour, today, this week).
///
/// * `daily` (default; horizon 1–31 days, default 7): exponential smoothing with weekly
///   seasonality (MSTL decomposition, AutoETS on the rest) on up to 56 days; needs 14
///   days of history. MASE against "same weekday last week".
/// * `hourly` (horizon 1–168 hours, default 24): the same with daily seasonality, and
///   weekly too once there are two weeks of hours, on up to 28 days of New York
///   wall-clock hours; needs 7 days (168 hours). MASE against "same hour yesterday". On
///   the day the clocks go back 01:00 holds two hours; on the day they go forward 02:00
///   does not exist and has no point.
/// * `weekly` (horizon 1–12 weeks, default 4): AutoETS without seasonality on up to 26
///   complete ISO weeks (Monday to Sunday); needs 7 weeks. MASE against "last week".
///
/// Each point has its period's start (`period_start`, RFC 3339 with the New York offset,
/// and `date`) and an 80% prediction interval, calibrated on a rolling-origin backtest
/// whose accuracy comes with it: MASE (below 1 beats the seasonal naive forecast) and the
/// interval's cross-validated coverage. Revenue is never forecast below zero. The points
/// are in `points` and, under the name the product guide's clients read, in
/// `forecast_data`. With too little history the answer is `status: insufficient_history`,
/// no points (`forecast_data` is an empty list) and no backtest.
#[utoipa::path(
    get,
    path = "/api/v1/revenue/forecast",
    tag = "revenue",
    operation_id = "revenue_forecast",
    params(ForecastQuery),
    responses(
        (status = 200, description = "The forecast, or `insufficient_history`", body = ForecastReport),
        (status = 422, description = "`invalid_request`: an unknown period, or a horizon that is not a whole number from 1 to 168 (daily horizons above 31 and weekly above 12 are cut to that)", body = aurum::http::ErrorBody),
        (status = 503, description = "`unavailable`: a dependency failed; retry shortly", body = aurum::http::ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn forecast<B: Backend>(
    State(app): State<RevenueState<B>>,
    query: Result<Query<ForecastQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| {
        ApiError::Invalid(format!(
            "expected period=hourly|daily|weekly and a horizon within the period's bounds: {}",
            e.body_text()
        ))
    })?;
    let (period, horizon) = period_and_horizon(&query)?;
    let a = &app.analytics;
    let body = a
        .snapshot(&format!("forecast:{period}:{horizon}"), || async {
            let history = a.forecast_history(period).await?;
            let report =
                ForecastReport::of(period, &history, horizon, LEVEL).map_err(|e| match e {
                    ForecastError::Model(why) => {
                        StoreError::Corrupt(format!("forecast model: {why}"))
                    }
                    other => StoreError::Corrupt(other.to_string()),
                })?;
            serde_json::to_string(&report).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .await?;
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<ForecastQuery, String> {
        let uri: axum::http::Uri = format!("/f?{query}").parse().map_err(|e| format!("{e}"))?;
        Query::<ForecastQuery>::try_from_uri(&uri)
            .map(|Query(q)| q)
            .map_err(|e| e.body_text())
    }

    fn asked(query: &str) -> Option<(Period, usize)> {
        period_and_horizon(&parse(query).ok()?).ok()
    }

    #[test]
    fn given_no_parameters_then_a_daily_week() {
        assert_eq!(asked(""), Some((Period::Daily, 7)));
        assert_eq!(asked("period=daily&horizon=14"), Some((Period::Daily, 14)));
        assert_eq!(asked("period=daily&horizon=3"), Some((Period::Daily, 3)));
        assert_eq!(asked("horizon=31"), Some((Period::Daily, 31)));
    }

    #[test]
    fn given_an_hourly_period_when_parsed_then_the_horizon_is_in_hours_up_to_a_week() {
        assert_eq!(asked("period=hourly"), Some((Period::Hourly, 24)));
        assert_eq!(asked("period=hourly&horizon=1"), Some((Period::Hourly, 1)));
        assert_eq!(
            asked("period=hourly&horizon=168"),
            Some((Period::Hourly, 168))
        );
        for h in ["0", "169", "-1", "24.0", "", "day"] {
            let q = parse(&format!("period=hourly&horizon={h}")).expect("query");
            assert!(
                matches!(period_and_horizon(&q), Err(ApiError::Invalid(_))),
                "{h:?}"
            );
        }
    }

    #[test]
    fn given_a_weekly_period_when_parsed_then_the_horizon_is_in_weeks_up_to_twelve() {
        assert_eq!(asked("period=weekly"), Some((Period::Weekly, 4)));
        assert_eq!(asked("period=weekly&horizon=1"), Some((Period::Weekly, 1)));
        assert_eq!(
            asked("period=weekly&horizon=12"),
            Some((Period::Weekly, 12))
        );
        // Beyond twelve weeks, twelve.
        assert_eq!(
            asked("period=weekly&horizon=13"),
            Some((Period::Weekly, 12))
        );
        assert_eq!(
            asked("period=weekly&horizon=168"),
            Some((Period::Weekly, 12))
        );
        for h in ["0", "169", "4.5"] {
            let q = parse(&format!("period=weekly&horizon={h}")).expect("query");
            assert!(
                matches!(period_and_horizon(&q), Err(ApiError::Invalid(_))),
                "{h:?}"
            );
        }
    }

    #[test]
    fn given_another_period_then_the_query_is_refused() {
        for bad in [
            "period=monthly",
            "period=Daily",
            "period=HOURLY",
            "period=",
            "period=yearly&horizon=1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn given_a_bad_daily_horizon_then_invalid_request() {
        // Beyond 31 days (up to the document's 168), 31.
        assert_eq!(asked("period=daily&horizon=32"), Some((Period::Daily, 31)));
        assert_eq!(asked("horizon=168"), Some((Period::Daily, 31)));
        for h in ["0", "169", "-1", "7.5", "seven", ""] {
            let q = parse(&format!("period=daily&horizon={h}")).expect("query");
            assert!(
                matches!(period_and_horizon(&q), Err(ApiError::Invalid(_))),
                "{h:?}"
            );
            let q = parse(&format!("horizon={h}")).expect("query");
            assert!(
                matches!(period_and_horizon(&q), Err(ApiError::Invalid(_))),
                "{h:?}"
            );
        }
    }
}

//! `GET /api/v1/revenue/forecast?period=daily&horizon=7`: the daily revenue forecast from
//! the kept day totals (complete New York days; today is the first forecast day), with its
//! prediction interval and measured backtest accuracy (`aurum::domain::forecast`). Served
//! from a snapshot refreshed at most every 15 seconds, like the other revenue reads.

use crate::revenue::RevenueState;
use aurum::backend::Backend;
use aurum::domain::forecast::{ForecastError, ForecastReport, MAX_HORIZON_DAYS};
use aurum::http::ApiError;
use aurum::ports::StoreError;
use aurum::usecases::analytics::revenue_history;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

pub const FORECAST_ROUTE: &str = "/api/v1/revenue/forecast";

/// The prediction interval's level.
pub const LEVEL: f64 = 0.8;
const DEFAULT_HORIZON: usize = 7;

/// The forecast's period (days are the only one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Daily,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// `daily` (the only period; the default).
    #[param(inline)]
    period: Option<Period>,
    /// Days to forecast, 1 to 31 (default 7); the first is today.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 31, example = 7)]
    horizon: Option<String>,
}

fn horizon(q: &ForecastQuery) -> Result<usize, ApiError> {
    let (None | Some(Period::Daily)) = q.period;
    let Some(raw) = q.horizon.as_deref() else {
        return Ok(DEFAULT_HORIZON);
    };
    match raw.parse::<usize>() {
        Ok(h) if (1..=MAX_HORIZON_DAYS).contains(&h) => Ok(h),
        _ => Err(ApiError::Invalid(format!(
            "horizon must be a whole number of days from 1 to {MAX_HORIZON_DAYS}"
        ))),
    }
}

/// The daily revenue forecast
///
/// Exponential smoothing with weekly seasonality (MSTL decomposition, AutoETS on the
/// rest) fitted on complete New York days of ledger net revenue, from the first day with
/// revenue; the first forecast day is today. Each point has an 80% prediction interval,
/// calibrated on a rolling-origin backtest whose accuracy comes with it: MASE against
/// "same weekday last week" (below 1 beats it) and the interval's cross-validated
/// coverage. Revenue is never forecast below zero. With fewer than 14 days of history the
/// answer is `status: insufficient_history`, no points and no backtest.
#[utoipa::path(
    get,
    path = "/api/v1/revenue/forecast",
    tag = "revenue",
    operation_id = "revenue_forecast",
    params(ForecastQuery),
    responses(
        (status = 200, description = "The forecast, or `insufficient_history`", body = ForecastReport),
        (status = 422, description = "`invalid_request`: an unknown period or a horizon outside 1–31", body = aurum::http::ErrorBody),
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
            "expected period=daily and horizon=1…{MAX_HORIZON_DAYS}: {}",
            e.body_text()
        ))
    })?;
    let horizon = horizon(&query)?;
    let a = &app.analytics;
    let body = a
        .snapshot(&format!("forecast:daily:{horizon}"), || async {
            let f = a.figures().await?;
            let mut history = revenue_history(&f);
            // Today is not over: the forecast starts with it.
            if history.last().is_some_and(|(day, _)| *day == f.today()) {
                history.pop();
            }
            let report = ForecastReport::daily(&history, horizon, LEVEL).map_err(|e| match e {
                ForecastError::Model(why) => StoreError::Corrupt(format!("forecast model: {why}")),
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

    fn q(period: Option<Period>, horizon: Option<&str>) -> ForecastQuery {
        ForecastQuery {
            period,
            horizon: horizon.map(str::to_owned),
        }
    }

    fn parse(query: &str) -> Result<ForecastQuery, String> {
        let uri: axum::http::Uri = format!("/f?{query}").parse().map_err(|e| format!("{e}"))?;
        Query::<ForecastQuery>::try_from_uri(&uri)
            .map(|Query(q)| q)
            .map_err(|e| e.body_text())
    }

    #[test]
    fn given_no_parameters_then_a_daily_week() {
        assert_eq!(horizon(&q(None, None)).ok(), Some(7));
        assert_eq!(horizon(&q(Some(Period::Daily), Some("14"))).ok(), Some(14));
        let parsed = parse("period=daily&horizon=3").expect("query");
        assert_eq!(horizon(&parsed).ok(), Some(3));
    }

    #[test]
    fn given_another_period_then_the_query_is_refused() {
        assert!(parse("period=weekly").is_err());
        assert!(parse("period=Daily").is_err());
    }

    #[test]
    fn given_a_bad_period_or_horizon_then_invalid_request() {
        for (period, h) in [
            (None, Some("0")),
            (None, Some("32")),
            (None, Some("-1")),
            (None, Some("7.5")),
            (None, Some("seven")),
            (None, Some("")),
        ] {
            assert!(
                matches!(horizon(&q(period, h)), Err(ApiError::Invalid(_))),
                "{period:?} {h:?}"
            );
        }
    }
}

//! The per-buyer rate limit: a fixed one-minute window counted in Redis (one `INCR` per
//! request, shared by every Lambda instance), and a per-instance GCRA limiter (`governor`)
//! of the same rate while Redis cannot be reached, so an outage never lifts the limit.

use aurum::domain::buyer::BuyerId;
use aurum::ports::Cache;
use chrono::{DateTime, Utc};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

const WINDOW_SECS: i64 = 60;

/// A refusal: try again after this many seconds (the `retry-after` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

pub struct BuyerRateLimit<C: Cache> {
    cache: Arc<C>,
    per_minute: u32,
    /// Keys of one deployment stage: stages may share one cache.
    prefix: String,
    fallback: DefaultKeyedRateLimiter<BuyerId>,
}

impl<C: Cache> BuyerRateLimit<C> {
    pub fn new(cache: Arc<C>, per_minute: u32, prefix: &str) -> BuyerRateLimit<C> {
        let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        BuyerRateLimit {
            cache,
            per_minute,
            prefix: prefix.to_owned(),
            fallback: RateLimiter::keyed(Quota::per_minute(rate)),
        }
    }

    /// Counts one request of `buyer` at `now`; refuses it past the buyer's rate.
    pub async fn check(&self, buyer: &BuyerId, now: DateTime<Utc>) -> Result<(), RetryAfter> {
        let window = now.timestamp().div_euclid(WINDOW_SECS);
        let key = format!("ratelimit:{}:feedback:{buyer}:{window}", self.prefix);
        match self
            .cache
            .incr(&key, 1, Duration::from_secs(2 * WINDOW_SECS as u64))
            .await
        {
            Ok(count) if count <= i64::from(self.per_minute) => Ok(()),
            Ok(_) => {
                let left = WINDOW_SECS - now.timestamp().rem_euclid(WINDOW_SECS);
                Err(RetryAfter(left.max(1) as u64))
            }
            Err(e) => {
                tracing::warn!(error = %e, "rate limit counted per instance: the cache is down");
                self.fallback.check_key(buyer).map_err(|not_until| {
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    RetryAfter(wait.as_secs_f64().ceil().max(1.0) as u64)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurum::adapters::memory::MemoryCache;
    use aurum::ports::CacheError;
    use chrono::TimeZone;

    struct DownCache;

    impl Cache for DownCache {
        async fn get(&self, _: &str) -> Result<Option<String>, CacheError> {
            Err(CacheError::Unavailable("connection refused".into()))
        }
        async fn set(&self, _: &str, _: &str, _: Duration) -> Result<(), CacheError> {
            Err(CacheError::Unavailable("connection refused".into()))
        }
        async fn delete(&self, _: &str) -> Result<(), CacheError> {
            Err(CacheError::Unavailable("connection refused".into()))
        }
        async fn incr(&self, _: &str, _: i64, _: Duration) -> Result<i64, CacheError> {
            Err(CacheError::Unavailable("connection refused".into()))
        }
    }

    fn buyer(id: &str) -> BuyerId {
        BuyerId::parse(id).expect("id")
    }

    fn at(sec: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 2, 18, 30, sec)
            .single()
            .expect("t")
    }

    #[tokio::test]
    async fn given_the_cache_when_a_buyer_passes_its_rate_then_it_waits_for_the_next_minute() {
        let limit = BuyerRateLimit::new(Arc::new(MemoryCache::new()), 3, "test");
        for _ in 0..3 {
            assert_eq!(limit.check(&buyer("a"), at(15)).await, Ok(()));
        }
        assert_eq!(limit.check(&buyer("a"), at(15)).await, Err(RetryAfter(45)));
        // Another buyer has its own budget.
        assert_eq!(limit.check(&buyer("b"), at(15)).await, Ok(()));
        // The next window starts afresh.
        assert_eq!(
            limit
                .check(&buyer("a"), at(15) + chrono::Duration::seconds(45))
                .await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn given_the_cache_down_then_each_instance_still_limits_every_buyer() {
        let limit = BuyerRateLimit::new(Arc::new(DownCache), 2, "test");
        assert_eq!(limit.check(&buyer("a"), at(0)).await, Ok(()));
        assert_eq!(limit.check(&buyer("a"), at(0)).await, Ok(()));
        let refused = limit.check(&buyer("a"), at(0)).await.expect_err("limited");
        assert!((1..=30).contains(&refused.0), "{refused:?}");
        assert_eq!(limit.check(&buyer("b"), at(0)).await, Ok(()));
    }
}

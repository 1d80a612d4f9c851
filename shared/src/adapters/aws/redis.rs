//! The Redis (ElastiCache) cache. One lazily connected `ConnectionManager` per cold start;
//! every call is bounded by a short timeout, and after a failure the cache is skipped for a
//! moment, so a dead Redis costs one timeout, not one per request.

use super::meter::Meter;
use crate::ports::{Cache, CacheError};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// How long the cache is bypassed after a failure.
const BACKOFF: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct RedisCache {
    connection: ConnectionManager,
    timeout: Duration,
    /// Unix ms until which calls are skipped.
    skip_until_ms: Arc<AtomicI64>,
    meter: Arc<Meter>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl RedisCache {
    /// Builds the client without connecting: start-up never waits for (or fails on) Redis.
    pub fn new(url: &str, timeout: Duration, meter: Arc<Meter>) -> Result<RedisCache, CacheError> {
        let client =
            redis::Client::open(url).map_err(|e| CacheError::Unavailable(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout.max(Duration::from_millis(200))))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = client
            .get_connection_manager_lazy(config)
            .map_err(|e| CacheError::Unavailable(e.to_string()))?;
        Ok(RedisCache {
            connection,
            timeout,
            skip_until_ms: Arc::new(AtomicI64::new(0)),
            meter,
        })
    }

    async fn run<T, F>(&self, call: F) -> Result<T, CacheError>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if now_ms() < self.skip_until_ms.load(Ordering::Relaxed) {
            return Err(CacheError::Unavailable(
                "cache bypassed after a recent failure".into(),
            ));
        }
        self.meter.redis_round_trip();
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => CacheError::Unavailable(e.to_string()),
            Err(_) => {
                CacheError::Unavailable(format!("no answer within {} ms", self.timeout.as_millis()))
            }
        };
        let backoff_ms = i64::try_from(BACKOFF.as_millis()).unwrap_or(5_000);
        self.skip_until_ms
            .store(now_ms() + backoff_ms, Ordering::Relaxed);
        Err(result)
    }
}

fn ttl_seconds(ttl: Duration) -> u64 {
    ttl.as_secs().max(1)
}

impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut c = self.connection.clone();
        self.run(async move { c.get::<_, Option<String>>(key).await })
            .await
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut c = self.connection.clone();
        self.run(async move { c.set_ex::<_, _, ()>(key, value, ttl_seconds(ttl)).await })
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut c = self.connection.clone();
        self.run(async move { c.del::<_, ()>(key).await }).await
    }

    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, CacheError> {
        let mut c = self.connection.clone();
        // One round trip: the counter and its expiry (set only when the key is new).
        let mut pipe = redis::pipe();
        pipe.atomic()
            .incr(key, by)
            .cmd("EXPIRE")
            .arg(key)
            .arg(ttl_seconds(ttl))
            .arg("NX")
            .ignore();
        let (value,): (i64,) = self
            .run(async move { pipe.query_async(&mut c).await })
            .await?;
        Ok(value)
    }
}

//! The Redis (ElastiCache) cache. One `ConnectionManager` per cold start, authenticated as
//! the cache's user when credentials are given (and again on every reconnect); every call
//! is bounded by a short timeout, and after a failure the cache is skipped for a moment, so
//! a dead Redis costs one timeout, not one per request.

use super::meter::Meter;
use crate::ports::{Cache, CacheError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, ConnectionAddr, IntoConnectionInfo};
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

/// The cache user's name and password, from its Secrets Manager secret (JSON
/// `{"username": …, "password": …}`). The password never prints.
#[derive(Clone, serde::Deserialize)]
pub struct CacheCredentials {
    pub username: String,
    password: String,
}

impl CacheCredentials {
    /// The credentials of a secret's string, when it holds a user name and a password.
    pub fn from_secret(text: &str) -> Option<CacheCredentials> {
        serde_json::from_str::<CacheCredentials>(text)
            .ok()
            .filter(|c| !c.username.trim().is_empty() && !c.password.is_empty())
    }
}

impl std::fmt::Debug for CacheCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheCredentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Why the cache cannot be used at all: configuration, not a network blip. No message
/// carries a password.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CacheStartError {
    #[error("REDIS_URL is not a redis:// or rediss:// URL of a host and port")]
    Url,
    #[error(
        "credentials are sent only over TLS (rediss://) or to a loopback address; REDIS_URL is plain redis:// to {host}"
    )]
    Cleartext { host: String },
    #[error("the cache refused the connection as {user} ({code}): check its user and secret")]
    Refused { user: String, code: String },
}

/// Whether the server turned the connection's identity down (as opposed to not answering).
fn refused(e: &redis::RedisError) -> Option<String> {
    if e.kind() == redis::ErrorKind::AuthenticationFailed {
        return Some(e.code().unwrap_or("authentication failed").to_owned());
    }
    e.code()
        .filter(|c| matches!(*c, "WRONGPASS" | "NOAUTH" | "NOPERM"))
        .map(str::to_owned)
}

fn loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl RedisCache {
    /// Connects, as the cache's user when `credentials` are given, and checks the server
    /// accepts the connection (one PING). Refused credentials (or none where the server
    /// wants some) stop start-up; an unreachable server does not: the cache then connects
    /// on first use and the system runs without it meanwhile.
    pub async fn connect(
        url: &str,
        credentials: Option<&CacheCredentials>,
        timeout: Duration,
        meter: Arc<Meter>,
    ) -> Result<RedisCache, CacheStartError> {
        let mut info = url
            .into_connection_info()
            .map_err(|_| CacheStartError::Url)?;
        if let Some(c) = credentials {
            if let ConnectionAddr::Tcp(host, _) = info.addr()
                && !loopback(host)
            {
                return Err(CacheStartError::Cleartext { host: host.clone() });
            }
            let settings = info
                .redis_settings()
                .clone()
                .set_username(&c.username)
                .set_password(&c.password);
            info = info.set_redis_settings(settings);
        }
        let user = info
            .redis_settings()
            .username()
            .unwrap_or("default")
            .to_owned();
        let client = redis::Client::open(info).map_err(|_| CacheStartError::Url)?;
        let connect_timeout = timeout.max(Duration::from_millis(200));
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let first = tokio::time::timeout(connect_timeout * 3, async {
            let mut connection = client
                .get_connection_manager_with_config(config.clone())
                .await?;
            redis::cmd("PING")
                .query_async::<()>(&mut connection)
                .await?;
            Ok::<_, redis::RedisError>(connection)
        })
        .await;
        let reason = match first {
            Ok(Ok(connection)) => return Ok(RedisCache::over(connection, timeout, meter)),
            Ok(Err(e)) => match refused(&e) {
                Some(code) => return Err(CacheStartError::Refused { user, code }),
                None => format!("{:?}", e.kind()),
            },
            Err(_) => format!("no answer within {} ms", (connect_timeout * 3).as_millis()),
        };
        tracing::warn!(
            reason,
            "cache not reachable at start-up; connecting on first use"
        );
        let connection = client
            .get_connection_manager_lazy(config)
            .map_err(|_| CacheStartError::Url)?;
        Ok(RedisCache::over(connection, timeout, meter))
    }

    fn over(connection: ConnectionManager, timeout: Duration, meter: Arc<Meter>) -> RedisCache {
        RedisCache {
            connection,
            timeout,
            skip_until_ms: Arc::new(AtomicI64::new(0)),
            meter,
        }
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

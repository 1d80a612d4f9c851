//! Building the AWS adapters once per cold start, from the typed configuration and the
//! environment Lambda provides (region, the role's credentials; `AWS_ENDPOINT_URL` points
//! at moto locally).

pub mod dynamodb;
mod dynamodb_feedback;
mod dynamodb_jobs;
pub mod dynamodb_keys;
mod dynamodb_metrics;
mod dynamodb_sales;
pub mod meter;
pub mod redis;
pub mod secrets;
pub mod sqs;

/// What the AWS adapters share with the others: error text safe to log.
pub(crate) use crate::redact::{decode_failure, error_chain};

use self::dynamodb::{DynamoStore, Tables};
use self::meter::Meter;
use self::redis::{CacheCredentials, CacheStartError, RedisCache};
use self::sqs::SqsLeadQueue;
use super::process_cache::MemoryCache;
use crate::backend::{Backend, Clock, system_clock};
use crate::config::{BackendKind, Config};
use crate::ports::{Cache, CacheError};
use aws_config::BehaviorVersion;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("lead queue: {0}")]
    Queue(#[from] crate::ports::QueueError),
    #[error("cache: {0}")]
    Cache(#[from] CacheError),
    #[error("cache discovery for {cache_id}: {reason}")]
    Discovery { cache_id: String, reason: String },
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("AURUM_BACKEND=embedded: this binary runs on the aws backend only")]
    NotAws,
    /// The contact-hash key's secret could not be read (the key is never in the message).
    #[error("contact-hash key secret: {0}")]
    ContactSecret(String),
    /// The cache user's secret could not be read (the password is never in the message).
    #[error("cache credentials secret (AURUM_CACHE_AUTH_SECRET): {0}")]
    CacheSecret(String),
    /// The cache cannot be used with this configuration (its credentials were refused).
    #[error("cache: {0}")]
    CacheStart(#[from] CacheStartError),
}

/// Reads the contact-hash key from the Secrets Manager secret `secret_id` (its string
/// value, at least 32 characters). Only the router is given the secret's id (and may read
/// it).
pub async fn read_contact_key(
    sdk: &aws_config::SdkConfig,
    secret_id: &str,
) -> Result<crate::config::ContactKey, ConnectError> {
    let text = secrets::secret_string(sdk, secret_id)
        .await
        .map_err(|e| ConnectError::ContactSecret(e.to_string()))?;
    crate::config::ContactKey::from_secret(text.expose()).ok_or_else(|| {
        ConnectError::ContactSecret("the secret's string is not a key of 32+ characters".into())
    })
}

/// Reads the cache user's name and password from the Secrets Manager secret `secret_id`.
pub async fn read_cache_credentials(
    sdk: &aws_config::SdkConfig,
    secret_id: &str,
) -> Result<CacheCredentials, ConnectError> {
    let text = secrets::secret_string(sdk, secret_id)
        .await
        .map_err(|e| ConnectError::CacheSecret(e.to_string()))?;
    CacheCredentials::from_secret(text.expose()).ok_or_else(|| {
        ConnectError::CacheSecret(
            "the secret's string is not JSON with a username and a password".into(),
        )
    })
}

/// The cache in force: Redis when configured or discovered, else an in-process cache.
pub enum AnyCache {
    Redis(RedisCache),
    Local(MemoryCache),
}

impl Cache for AnyCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        match self {
            AnyCache::Redis(c) => c.get(key).await,
            AnyCache::Local(c) => c.get(key).await,
        }
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        match self {
            AnyCache::Redis(c) => c.set(key, value, ttl).await,
            AnyCache::Local(c) => c.set(key, value, ttl).await,
        }
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        match self {
            AnyCache::Redis(c) => c.delete(key).await,
            AnyCache::Local(c) => c.delete(key).await,
        }
    }

    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, CacheError> {
        match self {
            AnyCache::Redis(c) => c.incr(key, by, ttl).await,
            AnyCache::Local(c) => c.incr(key, by, ttl).await,
        }
    }
}

/// DynamoDB, SQS and Redis (or an in-process cache when none is configured).
#[derive(Clone)]
pub struct AwsBackend {
    pub store: Arc<DynamoStore>,
    pub queue: Arc<SqsLeadQueue>,
    pub cache: Arc<AnyCache>,
    pub meter: Arc<Meter>,
    pub clock: Clock,
    pub config: Arc<Config>,
}

impl Backend for AwsBackend {
    type Conversations = DynamoStore;
    type Models = DynamoStore;
    type Leads = DynamoStore;
    type Buyers = DynamoStore;
    type Sales = DynamoStore;
    type Feedback = DynamoStore;
    type Metrics = DynamoStore;
    type Jobs = DynamoStore;
    type Queue = SqsLeadQueue;
    type Cache = AnyCache;

    fn conversations(&self) -> Arc<DynamoStore> {
        Arc::clone(&self.store)
    }
    fn models(&self) -> Arc<DynamoStore> {
        Arc::clone(&self.store)
    }
    fn leads(&self) -> Arc<DynamoStore> {
        Arc::clone(&self.store)
    }
    fn buyers(&self) -> Arc<DynamoStore> {
        Arc::clone(&self.store)
    }
    fn sales(&self) -> Arc<DynamoStore> {
        Arc::clone(&self.store)
    }
    fn feedback(&self) -> Arc<DynamoStore> {
        Arc::clone(&self.store)
    }
    fn metrics(&self) -> Arc<DynamoStore> {
        Arc::clone(&self.store)
    }
    fn jobs(&self) -> Arc<DynamoStore> {
        Arc::clone(&self.store)
    }
    fn queue(&self) -> Arc<SqsLeadQueue> {
        Arc::clone(&self.queue)
    }
    fn cache(&self) -> Arc<AnyCache> {
        Arc::clone(&self.cache)
    }
    fn clock(&self) -> Clock {
        Arc::clone(&self.clock)
    }
    fn config(&self) -> &Config {
        &self.config
    }
}

/// The SDK clients' HTTPS connector: rustls on ring with the system's root certificates.
pub fn sdk_http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The SDK configuration from the process environment: what a Lambda function is given.
pub fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_from(|name| std::env::var(name).ok())
}

/// The SDK configuration from the variables Lambda sets: the region (`AWS_REGION`, else
/// `AWS_DEFAULT_REGION`), the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and `AWS_ENDPOINT_URL` when set (moto
/// locally). Nothing else of the SDK's default chain is consulted — no profile files, SSO,
/// STS web identity or instance metadata — so none of it is linked into the functions
/// (`aurum setup` on an operator's machine uses the whole chain:
/// [`super::setup::operator_sdk_config`]).
pub fn sdk_config_from(var: impl Fn(&str) -> Option<String>) -> aws_config::SdkConfig {
    use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
    let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let mut sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(sdk_http_client())
        .retry_config(aws_config::retry::RetryConfig::standard())
        .timeout_config(sdk_timeouts())
        .region(
            var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .map(Region::new),
        );
    if let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        sdk = sdk.credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key,
            secret,
            var("AWS_SESSION_TOKEN"),
            None,
            "environment",
        )));
    }
    if let Some(url) = var("AWS_ENDPOINT_URL") {
        sdk = sdk.endpoint_url(url);
    }
    sdk.build()
}

/// Connect and per-attempt limits of every SDK call.
pub fn sdk_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .build()
}

/// Finds the endpoint of the ElastiCache cache named `cache_id`: a Serverless cache (the
/// template's; TLS is mandatory there), else a replication group (node-based Redis/Valkey),
/// whose primary or configuration endpoint is used, with TLS when the group has it on.
#[cfg(feature = "cache-discovery")]
pub async fn discover_cache_url(
    sdk: &aws_config::SdkConfig,
    cache_id: &str,
) -> Result<String, ConnectError> {
    let failed = |reason: String| ConnectError::Discovery {
        cache_id: cache_id.to_owned(),
        reason,
    };
    let client = aws_sdk_elasticache::Client::new(sdk);
    let serverless = client
        .describe_serverless_caches()
        .serverless_cache_name(cache_id)
        .send()
        .await;
    let serverless_error = match serverless {
        Ok(out) => {
            if let Some(endpoint) = out.serverless_caches().first().and_then(|c| c.endpoint())
                && let Some(host) = endpoint.address()
            {
                return Ok(format!(
                    "rediss://{host}:{}",
                    endpoint.port().unwrap_or(6379)
                ));
            }
            "no serverless cache with an endpoint".to_owned()
        }
        Err(e) => error_chain(&e),
    };
    let groups = client
        .describe_replication_groups()
        .replication_group_id(cache_id)
        .send()
        .await
        .map_err(|e| {
            failed(format!(
                "serverless: {serverless_error}; replication group: {}",
                error_chain(&e)
            ))
        })?;
    let group = groups
        .replication_groups()
        .first()
        .ok_or_else(|| failed("no serverless cache or replication group by that name".into()))?;
    let endpoint = group
        .configuration_endpoint()
        .or_else(|| {
            group
                .node_groups()
                .first()
                .and_then(|n| n.primary_endpoint())
        })
        .ok_or_else(|| failed("the replication group has no endpoint yet".into()))?;
    let host = endpoint
        .address()
        .ok_or_else(|| failed("endpoint without address".into()))?;
    let scheme = if group.transit_encryption_enabled() == Some(true) {
        "rediss"
    } else {
        "redis"
    };
    Ok(format!(
        "{scheme}://{host}:{}",
        endpoint.port().unwrap_or(6379)
    ))
}

/// The functions are deployed with `REDIS_URL` set from the cache's endpoint; only `aurum`
/// (the `cache-discovery` feature) looks an ElastiCache id up.
#[cfg(not(feature = "cache-discovery"))]
async fn discover_cache_url(
    _sdk: &aws_config::SdkConfig,
    cache_id: &str,
) -> Result<String, ConnectError> {
    Err(ConnectError::Discovery {
        cache_id: cache_id.to_owned(),
        reason: "this function does not look cache ids up: set REDIS_URL to the cache's endpoint"
            .into(),
    })
}

impl AwsBackend {
    /// A Lambda function's cold start: the configuration from the environment, then every
    /// client, built once.
    pub async fn from_env() -> Result<AwsBackend, ConnectError> {
        let config = Config::from_env(BackendKind::Aws)?;
        if config.backend != BackendKind::Aws {
            return Err(ConnectError::NotAws);
        }
        AwsBackend::connect(&config).await
    }

    /// Opens the connections a first request would otherwise open: one DynamoDB read (the
    /// TLS session and the SDK's endpoint resolution) and one Redis round trip, side by
    /// side. Run during a Lambda's init, which the first request does not wait for. A
    /// failure is logged and left to the first request: start-up never fails on a network
    /// blip.
    pub async fn warm(&self) {
        use crate::ports::ConversationStore;
        let session = crate::domain::conversation::SessionId::parse("warm-up")
            .unwrap_or_else(|_| unreachable!("a valid session id"));
        let (store, cache) = tokio::join!(
            self.store.load_conversation(&session),
            self.cache.get("warm-up")
        );
        if let Err(e) = store {
            tracing::warn!(error = %e, "store not reachable during init");
        }
        if let Err(e) = cache {
            tracing::warn!(error = %e, "cache not reachable during init");
        }
    }

    pub async fn connect(config: &Config) -> Result<AwsBackend, ConnectError> {
        AwsBackend::connect_with(&sdk_config(), config).await
    }

    pub async fn connect_with(
        sdk: &aws_config::SdkConfig,
        config: &Config,
    ) -> Result<AwsBackend, ConnectError> {
        let mut config = config.clone();
        if let Some(id) = &config.routing.contact_key_secret {
            config.routing.contact_key = read_contact_key(sdk, id).await?;
        }
        let config = &config;
        let meter = Arc::new(Meter::default());
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let store = DynamoStore::new(
            dynamo,
            Tables {
                conversations: config.aws.conversations_table.clone(),
                models: config.aws.models_table.clone(),
                leads: config.aws.leads_table.clone(),
                buyers: config.aws.buyers_table.clone(),
                ledger: config.aws.ledger_table.clone(),
                feedback: config.aws.feedback_table.clone(),
                metrics: config.aws.metrics_table.clone(),
                jobs: config.aws.jobs_table.clone(),
            },
            Arc::clone(&meter),
        );
        let queue_url = match &config.aws.lead_queue_url {
            Some(url) => url.clone(),
            None => SqsLeadQueue::url_for(&sqs, &config.aws.lead_queue_name).await?,
        };
        let queue = SqsLeadQueue::new(sqs, queue_url, Arc::clone(&meter));
        let redis_url = match (&config.cache.redis_url, &config.cache.cache_id) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(id)) => Some(discover_cache_url(sdk, id).await?),
            (None, None) => None,
        };
        let credentials = match &config.cache.auth_secret {
            Some(id) => Some(read_cache_credentials(sdk, id).await?),
            None => None,
        };
        let cache = match redis_url {
            Some(url) => AnyCache::Redis(
                RedisCache::connect(
                    &url,
                    credentials.as_ref(),
                    Duration::from_millis(config.cache.timeout_ms),
                    Arc::clone(&meter),
                )
                .await?,
            ),
            None => {
                tracing::warn!("no REDIS_URL or AURUM_CACHE_ID: using an in-process cache");
                AnyCache::Local(MemoryCache::new())
            }
        };
        Ok(AwsBackend {
            store: Arc::new(store),
            queue: Arc::new(queue),
            cache: Arc::new(cache),
            meter,
            clock: system_clock(),
            config: Arc::new(config.clone()),
        })
    }
}

//! Configuration: one typed struct read from the environment once at start-up. A missing
//! or invalid variable stops start-up with a message naming it.

use crate::domain::money::Cents;
use crate::domain::routing::RoutingStrategy;
use crate::domain::scoring::TierThresholds;
use crate::domain::targets::TierMix;
use std::collections::HashMap;
use std::path::PathBuf;

/// Every variable the system reads, so that deployment templates can be checked against it.
pub const VARIABLES: &[&str] = &[
    "AURUM_BACKEND",
    "AURUM_DATA_DIR",
    "AURUM_CONVERSATIONS_TABLE",
    "AURUM_MODELS_TABLE",
    "AURUM_LEADS_TABLE",
    "AURUM_BUYERS_TABLE",
    "AURUM_LEDGER_TABLE",
    "AURUM_FEEDBACK_TABLE",
    "AURUM_METRICS_TABLE",
    "AURUM_JOBS_TABLE",
    "AURUM_LEAD_QUEUE_URL",
    "AURUM_LEAD_QUEUE_NAME",
    "AURUM_LEAD_DLQ_NAME",
    "REDIS_URL",
    "AURUM_CACHE_ID",
    "AURUM_CACHE_TIMEOUT_MS",
    "AURUM_CACHE_AUTH_SECRET",
    "TARGET_CONVERSION_RATE",
    "TARGET_AVG_LEAD_VALUE",
    "TARGET_REVENUE_PER_HOUR",
    "SURGE_PRICING_THRESHOLD",
    "BUYER_CAPACITY_BUFFER",
    "MAX_CONVERSATION_DURATION",
    "MIN_CONVERSATION_DURATION",
    "TARGET_ACCEPTANCE_RATE",
    "TARGET_TIER_MIX",
    "QUALITY_THRESHOLD_PREMIUM",
    "QUALITY_THRESHOLD_STANDARD",
    "QUALITY_THRESHOLD_BASIC",
    "AURUM_ROUTING_STRATEGY",
    "AURUM_DEDUP_DAYS",
    "AURUM_SHELF_LIFE_HOURS",
    "AURUM_CONTACT_HASH_KEY",
    "AURUM_CONTACT_HASH_KEY_SECRET",
    "AURUM_CHAT_FRONTEND_KEY_SHA256",
    "AURUM_OUTBOUND",
    "AURUM_RETURN_RATE_CAP",
    "AURUM_FEEDBACK_RATE_LIMIT",
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{name} must be set when {because}")]
    Missing {
        name: &'static str,
        because: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// One redb file: local runs and `aurum serve`.
    Embedded,
    /// DynamoDB + SQS + Redis (ElastiCache).
    Aws,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AwsResources {
    pub conversations_table: String,
    pub models_table: String,
    pub leads_table: String,
    pub buyers_table: String,
    pub ledger_table: String,
    pub feedback_table: String,
    pub metrics_table: String,
    pub jobs_table: String,
    /// Set in Lambda (from the template); otherwise resolved from the queue name.
    pub lead_queue_url: Option<String>,
    pub lead_queue_name: String,
    pub lead_dlq_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    pub redis_url: Option<String>,
    /// ElastiCache cache id, to discover the endpoint when `REDIS_URL` is unset.
    pub cache_id: Option<String>,
    pub timeout_ms: u64,
    /// The Secrets Manager secret holding the cache user's credentials
    /// (`AURUM_CACHE_AUTH_SECRET`, JSON `{"username": …, "password": …}`), read at
    /// start-up: the deployed cache refuses connections without them.
    pub auth_secret: Option<String>,
}

pub use crate::domain::targets::Targets;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub backend: BackendKind,
    pub data_dir: PathBuf,
    pub aws: AwsResources,
    pub cache: CacheConfig,
    pub targets: Targets,
    pub routing: RoutingConfig,
    pub feedback: FeedbackConfig,
    /// Where deliveries and pings may go (`AURUM_OUTBOUND`, `public` or `sandbox`): by
    /// default the local sandbox's loopback buyers on the embedded store, public `https`
    /// hosts only on AWS; `sandbox` on AWS is for local runs against moto alone.
    pub outbound: crate::domain::buyer::Outbound,
    /// Who gets the conversation endpoint's full reply (the lead's score, buyer, price and
    /// revenue figures); everyone else gets the homeowner's view.
    pub chat_frontend: ChatFrontend,
    /// The clock can be set back (`aurum serve`'s sandbox clock, which `aurum simulate`
    /// moves): past days may still receive counts, so the analytics never seal a day. Never
    /// set in a Lambda; no variable sets it.
    pub clock_settable: bool,
}

/// Who may read the business's figures in a conversation reply.
#[derive(Clone, PartialEq, Eq)]
pub enum ChatFrontend {
    /// Every caller (`aurum serve`, the embedded store: one trusted machine).
    Anyone,
    /// A caller whose `aurum-frontend-key` header hashes (SHA-256) to this
    /// (`AURUM_CHAT_FRONTEND_KEY_SHA256`, 64 hex digits): the business's own server-side
    /// chat frontend.
    Key([u8; 32]),
    /// No caller: the AWS default without a key, since the route is public and a
    /// browser is its caller.
    Nobody,
}

impl std::fmt::Debug for ChatFrontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChatFrontend::Anyone => "Anyone",
            ChatFrontend::Key(_) => "Key(…)",
            ChatFrontend::Nobody => "Nobody",
        })
    }
}

impl ChatFrontend {
    /// The header the frontend's key travels in.
    pub const HEADER: &'static str = "aurum-frontend-key";

    /// Whether a caller presenting `key` gets the full reply. The hashes are compared in
    /// time that does not depend on where they differ.
    pub fn admits(&self, key: Option<&[u8]>) -> bool {
        use sha2::Digest;
        match (self, key) {
            (ChatFrontend::Anyone, _) => true,
            (ChatFrontend::Key(want), Some(key)) => {
                crate::domain::same_secret(want, &sha2::Sha256::digest(key))
            }
            (ChatFrontend::Key(_) | ChatFrontend::Nobody, _) => false,
        }
    }
}

/// The buyer-feedback endpoint's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackConfig {
    /// `AURUM_RETURN_RATE_CAP` (0..1, default 0.20): credited returns and rejections in a
    /// month, as a share of the leads a buyer kept; beyond it returns are held for review.
    pub return_rate_cap_bps: u32,
    /// `AURUM_FEEDBACK_RATE_LIMIT` (default 120): signed requests per buyer per minute.
    pub rate_per_minute: u32,
}

/// The router's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingConfig {
    /// How the router chooses among eligible buyers (`AURUM_ROUTING_STRATEGY`).
    pub strategy: RoutingStrategy,
    /// A phone or email sold within this many days is not sold again (`AURUM_DEDUP_DAYS`).
    pub dedup_days: u16,
    /// A lead no buyer can take waits to be offered again this many hours after it
    /// qualified, then expires (`AURUM_SHELF_LIFE_HOURS`, 1..=720, default 72).
    pub shelf_life_hours: u16,
    /// The key of the contact hashes: contact details are stored for de-duplication only
    /// as keyed hashes. Only the router hashes contacts. In AWS it reads the key from
    /// Secrets Manager at start-up (`AURUM_CONTACT_HASH_KEY_SECRET`, the secret's id,
    /// set on the router alone), so it is never an environment value; locally
    /// `AURUM_CONTACT_HASH_KEY` may give it, and the embedded backend has a local one.
    /// Empty until read when it comes from a secret, and on the other functions in AWS.
    pub contact_key: ContactKey,
    /// The Secrets Manager secret holding the key (`AURUM_CONTACT_HASH_KEY_SECRET`).
    pub contact_key_secret: Option<String>,
}

/// A secret key that never prints (the default: none).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ContactKey(Vec<u8>);

impl ContactKey {
    /// The key of local runs (the embedded backend), where no secret is configured.
    const LOCAL: &'static [u8] = b"aurum local contact hash key (not for production)";

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// A key read from a secret: at least 32 characters.
    pub fn from_secret(text: &str) -> Option<ContactKey> {
        (text.len() >= Self::MIN_LEN).then(|| ContactKey(text.as_bytes().to_vec()))
    }

    /// Whether a key is there (the router needs one).
    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }

    const MIN_LEN: usize = 32;
}

impl std::fmt::Debug for ContactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContactKey(…)")
    }
}

/// 64 hex digits as 32 bytes.
fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Config {
    /// The defaults of every setting, on `backend`: what a run with no variables gets.
    pub fn defaults(backend: BackendKind) -> Config {
        Config::from_vars(&HashMap::new(), backend)
            .unwrap_or_else(|e| unreachable!("the defaults are valid: {e}"))
    }

    /// Reads the process environment. `default_backend` differs: Lambda functions default
    /// to AWS, `aurum serve` to the embedded store.
    pub fn from_env(default_backend: BackendKind) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Config::from_vars(&vars, default_backend)
    }

    pub fn from_vars(
        vars: &HashMap<String, String>,
        default_backend: BackendKind,
    ) -> Result<Config, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let backend = match get("AURUM_BACKEND") {
            None => default_backend,
            Some("embedded") => BackendKind::Embedded,
            Some("aws") => BackendKind::Aws,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "AURUM_BACKEND",
                    reason: format!("{other:?} is not one of embedded, aws"),
                });
            }
        };
        let text = |name: &str, default: &str| get(name).unwrap_or(default).to_owned();
        let ratio = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => parse_ratio_bps(raw).ok_or(ConfigError::Invalid {
                    name,
                    reason: format!("{raw:?} is not a number between 0 and 1"),
                }),
            }
        };
        let dollars = |name: &'static str, default: Cents| -> Result<Cents, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => Cents::parse_dollars(raw).ok_or(ConfigError::Invalid {
                    name,
                    reason: format!("{raw:?} is not a dollar amount"),
                }),
            }
        };
        let seconds = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => raw.parse::<u32>().map_err(|e| ConfigError::Invalid {
                    name,
                    reason: format!("{raw:?}: {e}"),
                }),
            }
        };
        let score = |name: &'static str, default: u8| -> Result<u8, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => raw
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|s| (1..=100).contains(s))
                    .ok_or(ConfigError::Invalid {
                        name,
                        reason: format!("{raw:?} is not a whole score from 1 to 100"),
                    }),
            }
        };
        let defaults = Targets::default();
        let targets = Targets {
            conversion_rate_bps: ratio("TARGET_CONVERSION_RATE", defaults.conversion_rate_bps)?,
            avg_lead_value: dollars("TARGET_AVG_LEAD_VALUE", defaults.avg_lead_value)?,
            revenue_per_hour: dollars("TARGET_REVENUE_PER_HOUR", defaults.revenue_per_hour)?,
            surge_pricing_threshold_bps: ratio(
                "SURGE_PRICING_THRESHOLD",
                defaults.surge_pricing_threshold_bps,
            )?,
            buyer_capacity_buffer_bps: ratio(
                "BUYER_CAPACITY_BUFFER",
                defaults.buyer_capacity_buffer_bps,
            )?,
            max_conversation_seconds: seconds(
                "MAX_CONVERSATION_DURATION",
                defaults.max_conversation_seconds,
            )?,
            min_conversation_seconds: seconds(
                "MIN_CONVERSATION_DURATION",
                defaults.min_conversation_seconds,
            )?,
            acceptance_rate_bps: ratio("TARGET_ACCEPTANCE_RATE", defaults.acceptance_rate_bps)?,
            tier_mix: match get("TARGET_TIER_MIX") {
                None => defaults.tier_mix,
                Some(raw) => parse_tier_mix(raw).ok_or(ConfigError::Invalid {
                    name: "TARGET_TIER_MIX",
                    reason: format!(
                        "{raw:?} is not three shares premium,standard,basic summing to 1 (e.g. 0.30,0.50,0.20)"
                    ),
                })?,
            },
            tiers: TierThresholds {
                premium: score("QUALITY_THRESHOLD_PREMIUM", defaults.tiers.premium)?,
                standard: score("QUALITY_THRESHOLD_STANDARD", defaults.tiers.standard)?,
                basic: score("QUALITY_THRESHOLD_BASIC", defaults.tiers.basic)?,
            },
        };
        let t = targets.tiers;
        if !(1 <= t.basic && t.basic < t.standard && t.standard < t.premium) {
            return Err(ConfigError::Invalid {
                name: "QUALITY_THRESHOLD_PREMIUM",
                reason: format!(
                    "tier thresholds must rise: 1 <= basic < standard < premium <= 100, got basic {} / standard {} / premium {}",
                    t.basic, t.standard, t.premium
                ),
            });
        }
        let timeout_ms = match get("AURUM_CACHE_TIMEOUT_MS") {
            None => 50,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|ms| (1..=10_000).contains(ms))
                .ok_or(ConfigError::Invalid {
                    name: "AURUM_CACHE_TIMEOUT_MS",
                    reason: format!("{raw:?} is not a number of milliseconds between 1 and 10000"),
                })?,
        };
        let routing_strategy = match get("AURUM_ROUTING_STRATEGY") {
            None => RoutingStrategy::default(),
            Some(raw) => raw.parse().map_err(|reason| ConfigError::Invalid {
                name: "AURUM_ROUTING_STRATEGY",
                reason,
            })?,
        };
        let dedup_days = match get("AURUM_DEDUP_DAYS") {
            None => 30,
            Some(raw) => raw
                .parse::<u16>()
                .ok()
                .filter(|d| (1..=365).contains(d))
                .ok_or(ConfigError::Invalid {
                    name: "AURUM_DEDUP_DAYS",
                    reason: format!("{raw:?} is not a number of days between 1 and 365"),
                })?,
        };
        let shelf_life_hours = match get("AURUM_SHELF_LIFE_HOURS") {
            None => 72,
            Some(raw) => raw
                .parse::<u16>()
                .ok()
                .filter(|h| (1..=720).contains(h))
                .ok_or(ConfigError::Invalid {
                    name: "AURUM_SHELF_LIFE_HOURS",
                    reason: format!("{raw:?} is not a number of hours between 1 and 720"),
                })?,
        };
        let contact_key_secret = match get("AURUM_CONTACT_HASH_KEY_SECRET") {
            Some(id) if id.trim().is_empty() || id.len() > 2_048 => {
                return Err(ConfigError::Invalid {
                    name: "AURUM_CONTACT_HASH_KEY_SECRET",
                    reason: "must be a Secrets Manager secret id or ARN".into(),
                });
            }
            other => other.map(str::to_owned),
        };
        let contact_key = match (get("AURUM_CONTACT_HASH_KEY"), &contact_key_secret, backend) {
            (Some(_), Some(_), _) => {
                return Err(ConfigError::Invalid {
                    name: "AURUM_CONTACT_HASH_KEY",
                    reason: "set it or AURUM_CONTACT_HASH_KEY_SECRET, not both".into(),
                });
            }
            (Some(key), None, _) => {
                ContactKey::from_secret(key).ok_or_else(|| ConfigError::Invalid {
                    name: "AURUM_CONTACT_HASH_KEY",
                    reason: "must be at least 32 characters".into(),
                })?
            }
            // Read from the secret when the backend connects.
            (None, Some(_), _) => ContactKey(Vec::new()),
            (None, None, BackendKind::Embedded) => ContactKey(ContactKey::LOCAL.to_vec()),
            // The functions that never hash a contact have no key; the router refuses to
            // start without one.
            (None, None, BackendKind::Aws) => ContactKey(Vec::new()),
        };
        let outbound = match (get("AURUM_OUTBOUND"), backend) {
            (Some("public"), _) | (None, BackendKind::Aws) => {
                crate::domain::buyer::Outbound::Public
            }
            (Some("sandbox"), _) | (None, BackendKind::Embedded) => {
                crate::domain::buyer::Outbound::Sandbox
            }
            (Some(other), _) => {
                return Err(ConfigError::Invalid {
                    name: "AURUM_OUTBOUND",
                    reason: format!("{other:?} is not one of public, sandbox"),
                });
            }
        };
        let chat_frontend = match (get("AURUM_CHAT_FRONTEND_KEY_SHA256"), backend) {
            (Some(hex), _) => ChatFrontend::Key(parse_sha256(hex).ok_or(ConfigError::Invalid {
                name: "AURUM_CHAT_FRONTEND_KEY_SHA256",
                reason: "must be the key's SHA-256 as 64 hex digits".into(),
            })?),
            (None, BackendKind::Embedded) => ChatFrontend::Anyone,
            (None, BackendKind::Aws) => ChatFrontend::Nobody,
        };
        let rate_per_minute = match get("AURUM_FEEDBACK_RATE_LIMIT") {
            None => 120,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or(ConfigError::Invalid {
                    name: "AURUM_FEEDBACK_RATE_LIMIT",
                    reason: format!(
                        "{raw:?} is not a number of requests per minute between 1 and 100000"
                    ),
                })?,
        };
        let feedback = FeedbackConfig {
            return_rate_cap_bps: ratio("AURUM_RETURN_RATE_CAP", 2_000)?,
            rate_per_minute,
        };
        let cache_auth_secret = match get("AURUM_CACHE_AUTH_SECRET") {
            Some(id) if id.trim().is_empty() || id.len() > 2_048 => {
                return Err(ConfigError::Invalid {
                    name: "AURUM_CACHE_AUTH_SECRET",
                    reason: "must be a Secrets Manager secret id or ARN".into(),
                });
            }
            other => other.map(str::to_owned),
        };
        let redis_url = get("REDIS_URL").map(str::to_owned);
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(ConfigError::Invalid {
                name: "REDIS_URL",
                reason: "must start with redis:// or rediss://".into(),
            });
        }
        Ok(Config {
            clock_settable: false,
            chat_frontend,
            outbound,
            backend,
            data_dir: PathBuf::from(text("AURUM_DATA_DIR", ".aurum")),
            aws: AwsResources {
                conversations_table: text("AURUM_CONVERSATIONS_TABLE", "aurum-conversations"),
                models_table: text("AURUM_MODELS_TABLE", "aurum-models"),
                leads_table: text("AURUM_LEADS_TABLE", "aurum-leads"),
                buyers_table: text("AURUM_BUYERS_TABLE", "aurum-buyers"),
                ledger_table: text("AURUM_LEDGER_TABLE", "aurum-ledger"),
                feedback_table: text("AURUM_FEEDBACK_TABLE", "aurum-feedback"),
                metrics_table: text("AURUM_METRICS_TABLE", "aurum-metrics"),
                jobs_table: text("AURUM_JOBS_TABLE", "aurum-jobs"),
                lead_queue_url: get("AURUM_LEAD_QUEUE_URL").map(str::to_owned),
                lead_queue_name: text("AURUM_LEAD_QUEUE_NAME", "aurum-leads.fifo"),
                lead_dlq_name: text("AURUM_LEAD_DLQ_NAME", "aurum-leads-dlq.fifo"),
            },
            cache: CacheConfig {
                redis_url,
                cache_id: get("AURUM_CACHE_ID").map(str::to_owned),
                timeout_ms,
                auth_secret: cache_auth_secret,
            },
            targets,
            routing: RoutingConfig {
                strategy: routing_strategy,
                dedup_days,
                shelf_life_hours,
                contact_key,
                contact_key_secret,
            },
            feedback,
        })
    }
}

/// "0.6" -> 6000 bps, without floats; accepts 0..=1.
/// `premium,standard,basic` shares (e.g. `0.30,0.50,0.20`) that sum to 1.
fn parse_tier_mix(raw: &str) -> Option<TierMix> {
    let parts: Vec<u32> = raw
        .split(',')
        .map(|p| parse_ratio_bps(p.trim()))
        .collect::<Option<Vec<u32>>>()?;
    let [premium_bps, standard_bps, basic_bps] = parts[..] else {
        return None;
    };
    (premium_bps + standard_bps + basic_bps == 10_000).then_some(TierMix {
        premium_bps,
        standard_bps,
        basic_bps,
    })
}

fn parse_ratio_bps(raw: &str) -> Option<u32> {
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut digits = frac
        .bytes()
        .map(|d| u32::from(d - b'0'))
        .chain(std::iter::repeat(0));
    let frac_bps = (0..4).fold(0, |acc, _| acc * 10 + digits.next().unwrap_or(0));
    let bps = whole.checked_mul(10_000)?.checked_add(frac_bps)?;
    (bps <= 10_000).then_some(bps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_follow_the_guide() {
        let c = Config::from_vars(&vars(&[]), BackendKind::Embedded).expect("defaults");
        assert_eq!(c.backend, BackendKind::Embedded);
        assert_eq!(c.targets, Targets::default());
        assert_eq!(c.targets.conversion_rate_bps, 6_000);
        assert_eq!(c.targets.avg_lead_value, Cents(15_000));
        assert_eq!(c.targets.revenue_per_hour, Cents(3_000));
        assert_eq!(c.cache.timeout_ms, 50);
        assert_eq!(c.aws.conversations_table, "aurum-conversations");
        assert_eq!(c.routing.strategy, RoutingStrategy::BidPrice);
        assert_eq!(c.routing.dedup_days, 30);
        assert_eq!(c.routing.shelf_life_hours, 72);
        assert_eq!(c.feedback.return_rate_cap_bps, 2_000);
        assert_eq!(c.feedback.rate_per_minute, 120);
        assert_eq!(c.aws.feedback_table, "aurum-feedback");
    }

    #[test]
    fn the_routing_strategy_is_chosen_by_name() {
        for (raw, want) in [
            ("greedy", RoutingStrategy::Greedy),
            ("bid_price", RoutingStrategy::BidPrice),
        ] {
            let c = Config::from_vars(
                &vars(&[("AURUM_ROUTING_STRATEGY", raw)]),
                BackendKind::Embedded,
            )
            .expect("valid");
            assert_eq!(c.routing.strategy, want);
        }
    }

    #[test]
    fn settings_are_read_and_bad_ones_are_named() {
        let c = Config::from_vars(
            &vars(&[
                ("AURUM_BACKEND", "aws"),
                ("AURUM_CONTACT_HASH_KEY", "0123456789abcdef0123456789abcdef"),
                ("AURUM_DEDUP_DAYS", "45"),
                ("TARGET_CONVERSION_RATE", "0.65"),
                ("TARGET_AVG_LEAD_VALUE", "175.50"),
                ("TARGET_REVENUE_PER_HOUR", "45"),
            ]),
            BackendKind::Embedded,
        )
        .expect("valid");
        assert_eq!(c.backend, BackendKind::Aws);
        assert_eq!(c.routing.dedup_days, 45);
        assert_eq!(c.targets.conversion_rate_bps, 6_500);
        assert_eq!(c.targets.avg_lead_value, Cents(17_550));
        assert_eq!(c.targets.revenue_per_hour, Cents(4_500));
        for (name, value) in [
            ("AURUM_BACKEND", "postgres"),
            ("TARGET_CONVERSION_RATE", "1.5"),
            ("SURGE_PRICING_THRESHOLD", "high"),
            ("TARGET_REVENUE_PER_HOUR", "-3"),
            ("REDIS_URL", "localhost:6379"),
            ("AURUM_CACHE_TIMEOUT_MS", "0"),
            ("AURUM_ROUTING_STRATEGY", "fastest"),
            ("AURUM_DEDUP_DAYS", "0"),
            ("AURUM_CONTACT_HASH_KEY", "short"),
            ("AURUM_RETURN_RATE_CAP", "0.5x"),
            ("AURUM_FEEDBACK_RATE_LIMIT", "0"),
        ] {
            let err =
                Config::from_vars(&vars(&[(name, value)]), BackendKind::Embedded).expect_err(name);
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }

    #[test]
    fn given_the_guides_configuration_then_every_value_is_read_and_thresholds_must_rise() {
        // GIVEN the guide's RevenueOptimizationConfig written as environment values
        let c = Config::from_vars(
            &vars(&[
                ("QUALITY_THRESHOLD_PREMIUM", "88"),
                ("QUALITY_THRESHOLD_STANDARD", "72"),
                ("QUALITY_THRESHOLD_BASIC", "45"),
                ("TARGET_ACCEPTANCE_RATE", "0.90"),
                ("TARGET_TIER_MIX", "0.25, 0.55, 0.20"),
                ("MAX_CONVERSATION_DURATION", "1200"),
                ("MIN_CONVERSATION_DURATION", "240"),
                ("BUYER_CAPACITY_BUFFER", "0.15"),
                ("SURGE_PRICING_THRESHOLD", "0.75"),
            ]),
            BackendKind::Embedded,
        )
        .expect("valid");
        // THEN each is in the targets, and the built-in model scores with the thresholds
        let t = c.targets;
        assert_eq!(
            (t.tiers.premium, t.tiers.standard, t.tiers.basic),
            (88, 72, 45)
        );
        assert_eq!(t.acceptance_rate_bps, 9_000);
        assert_eq!(
            (
                t.tier_mix.premium_bps,
                t.tier_mix.standard_bps,
                t.tier_mix.basic_bps
            ),
            (2_500, 5_500, 2_000)
        );
        assert_eq!(
            (t.max_conversation_seconds, t.min_conversation_seconds),
            (1_200, 240)
        );
        assert_eq!(t.buyer_capacity_buffer_bps, 1_500);
        assert_eq!(t.surge_pricing_threshold_bps, 7_500);
        let model = t.base_model();
        assert!(model.validate().is_ok());
        assert_eq!(
            model.tier_for(87),
            crate::domain::scoring::QualityTier::Standard
        );
        assert_eq!(
            model.tier_for(88),
            crate::domain::scoring::QualityTier::Premium
        );
        assert_eq!(
            model.tier_for(44),
            crate::domain::scoring::QualityTier::Unqualified
        );
        // AND the guide's defaults without them
        let d = Config::from_vars(&vars(&[]), BackendKind::Embedded).expect("defaults");
        assert_eq!(
            (
                d.targets.tiers.premium,
                d.targets.tiers.standard,
                d.targets.tiers.basic
            ),
            (85, 70, 50)
        );
        assert_eq!(d.targets.acceptance_rate_bps, 8_500);
        assert_eq!(
            d.targets.base_model(),
            crate::domain::scoring::ScoringModel::default()
        );

        // WHEN thresholds do not rise, or a value is out of range, THEN start-up stops
        // naming it
        for (pairs, name) in [
            (
                vec![("QUALITY_THRESHOLD_STANDARD", "90")],
                "QUALITY_THRESHOLD_PREMIUM",
            ),
            (
                vec![("QUALITY_THRESHOLD_BASIC", "70")],
                "QUALITY_THRESHOLD_PREMIUM",
            ),
            (
                vec![("QUALITY_THRESHOLD_PREMIUM", "101")],
                "QUALITY_THRESHOLD_PREMIUM",
            ),
            (
                vec![("QUALITY_THRESHOLD_BASIC", "0")],
                "QUALITY_THRESHOLD_BASIC",
            ),
            (
                vec![("QUALITY_THRESHOLD_BASIC", "fifty")],
                "QUALITY_THRESHOLD_BASIC",
            ),
            (
                vec![("TARGET_ACCEPTANCE_RATE", "85%")],
                "TARGET_ACCEPTANCE_RATE",
            ),
            (vec![("TARGET_TIER_MIX", "0.3,0.5")], "TARGET_TIER_MIX"),
            (vec![("TARGET_TIER_MIX", "0.3,0.5,0.3")], "TARGET_TIER_MIX"),
        ] {
            let err = Config::from_vars(&vars(&pairs), BackendKind::Embedded).expect_err("refused");
            assert!(err.to_string().starts_with(name), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn given_the_contact_key_then_only_a_secret_id_or_a_long_key_and_it_never_prints() {
        // GIVEN the aws backend without a key: the functions that never hash contacts
        // start without one (the router refuses: see the router crate)
        let c = Config::from_vars(&vars(&[("AURUM_BACKEND", "aws")]), BackendKind::Embedded)
            .expect("no key needed to load");
        assert!(!c.routing.contact_key.is_set());
        // AND a secret id is kept to be read at start-up, the key left empty until then
        let c = Config::from_vars(
            &vars(&[
                ("AURUM_BACKEND", "aws"),
                ("AURUM_CONTACT_HASH_KEY_SECRET", "aurum-contact-hash-key"),
            ]),
            BackendKind::Embedded,
        )
        .expect("valid");
        assert_eq!(
            c.routing.contact_key_secret.as_deref(),
            Some("aurum-contact-hash-key")
        );
        assert!(!c.routing.contact_key.is_set());
        // AND both at once, an overlong id or a short key are refused
        let long_id = "x".repeat(3_000);
        for pairs in [
            vec![
                ("AURUM_CONTACT_HASH_KEY", "0123456789abcdef0123456789abcdef"),
                ("AURUM_CONTACT_HASH_KEY_SECRET", "aurum-contact-hash-key"),
            ],
            vec![("AURUM_CONTACT_HASH_KEY_SECRET", &long_id)],
            vec![("AURUM_CONTACT_HASH_KEY", "short")],
        ] {
            let err = Config::from_vars(&vars(&pairs), BackendKind::Embedded).expect_err("refused");
            assert!(
                err.to_string().starts_with("AURUM_CONTACT_HASH_KEY"),
                "{err}"
            );
        }
        let c = Config::from_vars(
            &vars(&[(
                "AURUM_CONTACT_HASH_KEY",
                "s3cret-s3cret-s3cret-s3cret-s3cret",
            )]),
            BackendKind::Embedded,
        )
        .expect("valid");
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn every_variable_read_is_listed() {
        let source = include_str!("config.rs");
        let listed: std::collections::HashSet<&str> = VARIABLES.iter().copied().collect();
        for name in source.split('"').filter(|s| {
            s.len() > 3 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_') && s.contains('_')
        }) {
            assert!(listed.contains(name), "{name} is read but not in VARIABLES");
        }
    }
}

//! The lead router: fed by the lead queue (SQS), it routes each qualified lead to the buyer
//! that earns the most, sells it in one transaction, delivers it to the buyer's webhook
//! and cascades on a reject. The work is `aurum::usecases::routing`; this crate is its Lambda.

use aurum::backend::Backend;
use aurum::config::Config;
use aurum::delivery::{DeliveryClient, RetryPolicy};
use aurum::domain::routing::RoutingRules;
use aurum::function::{QueueFunction, WorkError};
use aurum::usecases::routing::{Distribution, DistributionSettings};
use std::sync::Arc;

/// The router, as the registry knows it.
pub struct Router;

impl QueueFunction for Router {
    const NAME: &'static str = "router";
    type Consumer<B: Backend> = Distribution<B>;

    fn consumer<B: Backend>(backend: &B) -> Result<Distribution<B>, WorkError> {
        distribution(backend).map_err(|e| WorkError(e.to_string()))
    }
}

/// The router's settings from the configuration.
pub fn settings(config: &Config) -> DistributionSettings {
    DistributionSettings {
        strategy: config.routing.strategy,
        rules: RoutingRules::from_targets(&config.targets),
        dedup_window: chrono::Duration::days(i64::from(config.routing.dedup_days)),
        shelf_life: chrono::Duration::hours(i64::from(config.routing.shelf_life_hours)),
        contact_key: config.routing.contact_key.bytes().to_vec(),
    }
}

/// Why the router cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("delivery client: {0}")]
    Client(#[from] aurum::delivery::ClientError),
    #[error(
        "no contact-hash key: set AURUM_CONTACT_HASH_KEY_SECRET (a Secrets Manager secret) or AURUM_CONTACT_HASH_KEY"
    )]
    NoContactKey,
}

/// The distribution use case over `backend`, with its delivery client (one connection
/// pool per process). Refused without a contact-hash key: leads could not be
/// de-duplicated.
pub fn distribution<B: Backend>(backend: &B) -> Result<Distribution<B>, StartError> {
    if !backend.config().routing.contact_key.is_set() {
        return Err(StartError::NoContactKey);
    }
    let client = DeliveryClient::new(RetryPolicy::default(), backend.config().outbound)?;
    Ok(Distribution::new(
        backend,
        Arc::new(client),
        settings(backend.config()),
    ))
}

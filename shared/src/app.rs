//! What every HTTP function holds: the ports it was built with (once, at cold start) and
//! a clock, so that tests can pin time.

use chrono::{DateTime, Utc};
use std::sync::Arc;

pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

pub struct AppState<S, Q, C> {
    pub store: Arc<S>,
    pub queue: Arc<Q>,
    pub cache: Arc<C>,
    pub clock: Clock,
}

impl<S, Q, C> AppState<S, Q, C> {
    pub fn new(store: Arc<S>, queue: Arc<Q>, cache: Arc<C>) -> Self {
        AppState {
            store,
            queue,
            cache,
            clock: system_clock(),
        }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

impl<S, Q, C> Clone for AppState<S, Q, C> {
    fn clone(&self) -> Self {
        AppState {
            store: Arc::clone(&self.store),
            queue: Arc::clone(&self.queue),
            cache: Arc::clone(&self.cache),
            clock: Arc::clone(&self.clock),
        }
    }
}

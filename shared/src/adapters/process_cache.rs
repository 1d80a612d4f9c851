//! A cache in this process's memory: the cache of the embedded backend, and the AWS
//! backend's stand-in when no Redis is configured. Same semantics as Redis for the calls
//! the system makes (TTL on set, counters created with a TTL).

use crate::ports::{Cache, CacheError};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking thread must not wedge every other caller of the same value.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, (String, Instant)>>,
}

impl MemoryCache {
    pub fn new() -> MemoryCache {
        MemoryCache::default()
    }
}

impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut entries = lock(&self.entries);
        match entries.get(key) {
            Some((v, expires)) if *expires > Instant::now() => Ok(Some(v.clone())),
            Some(_) => {
                entries.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        lock(&self.entries).insert(key.to_owned(), (value.to_owned(), Instant::now() + ttl));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        lock(&self.entries).remove(key);
        Ok(())
    }

    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, CacheError> {
        let mut entries = lock(&self.entries);
        let now = Instant::now();
        let current = match entries.get(key) {
            Some((v, expires)) if *expires > now => (v.parse::<i64>().unwrap_or(0), *expires),
            _ => (0, now + ttl),
        };
        let next = current.0.saturating_add(by);
        entries.insert(key.to_owned(), (next.to_string(), current.1));
        Ok(next)
    }
}

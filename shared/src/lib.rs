//! The common crate of every Aurum function: domain, ports, adapters and the HTTP edge.
//! Adapters sit behind features (`aws`, `embedded`, `memory`, `setup`), so each binary
//! links only the backends it runs on.

pub mod adapters;
pub mod analytics;
pub mod backend;
pub mod buyer_client;
pub mod chat;
pub mod config;
pub mod contracts;
pub mod delivery;
pub mod distribution;
pub mod domain;
pub mod feedback;
pub mod function;
pub mod http;
pub mod jobs;
pub mod lead_life;
pub mod ports;
pub mod redact;
pub mod sandbox;
pub mod telemetry;
pub mod webhooks;

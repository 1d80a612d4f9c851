//! The common crate of every Aurum function: domain, ports, adapters and the HTTP edge.
//! Adapters sit behind features (`aws`, `embedded`, `memory`, `setup`), so each binary
//! links only the backends it runs on.

pub mod adapters;
pub mod artefacts;
pub mod backend;
pub mod config;
pub mod contracts;
pub mod delivery;
pub mod domain;
pub mod function;
pub mod http;
pub mod ports;
pub mod redact;
pub mod telemetry;
pub mod usecases;
pub mod webhooks;

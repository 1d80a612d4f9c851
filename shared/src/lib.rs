//! The common crate of every Aurum function: domain, ports, adapters and the HTTP edge.

pub mod adapters;
pub mod app;
pub mod chat;
pub mod config;
pub mod domain;
pub mod http;
pub mod ports;
pub mod telemetry;

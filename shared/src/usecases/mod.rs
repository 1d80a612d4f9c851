//! The use cases, one per function: `conversation` (a homeowner's turn), `routing` (the
//! router: sell, deliver, cascade), `feedback` (a buyer's signed feedback), `analytics`
//! (the dashboard's reads), `console` (the sales team's buyer administration), `console_models` (its
//! models and experiments) and `jobs`
//! (the schedules); and `lifecycle`, the lead's life
//! (`domain::lifecycle`) applied to the stores, which the conversation, the router and the
//! jobs share. Each loads through the ports, asks the domain and writes what it decided.
//!
//! Imports run one way: use cases → `lifecycle`, `artefacts`, ports, domain; `jobs` reads
//! the KPI figures through `analytics`. No use case imports another otherwise.

pub mod analytics;
pub mod console;
pub mod console_models;
pub mod conversation;
pub mod feedback;
pub mod jobs;
pub mod lifecycle;
pub mod reoffer;
pub mod routing;

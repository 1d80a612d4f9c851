//! Learning from feedback: the scoring model's conversion learner, pricing experiments
//! (Thompson sampling) and the conversation rules. Pure: the jobs load the data, pass
//! time and randomness in, and store what these functions decide.

pub mod conversation_rules;
pub mod conversion;
pub mod experiments;
pub mod logistic;

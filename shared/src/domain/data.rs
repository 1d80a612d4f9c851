//! The data tables compiled into the crate (NYC market data, incentives, pricing, the
//! extraction word tables and patterns), parsed once at start-up so that a cold start pays
//! for it before the first event and a bad file stops the process with its reason,
//! instead of failing request after request.

use super::answers::{self, AnswersError};
use super::extract::{self, WordsError};
use super::incentives::{self, IncentiveError};
use super::knowledge::{self, KnowledgeError};
use super::market::{self, MarketError};
use super::pricing::{self, PricingError};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("data/nyc-market.json could not be loaded: {0}")]
    Market(&'static MarketError),
    #[error("data/incentives.json could not be loaded: {0}")]
    Incentives(&'static IncentiveError),
    #[error("{0}")]
    Words(&'static WordsError),
    #[error("data/pricing.json could not be loaded: {0}")]
    Pricing(&'static PricingError),
    #[error("data/answers.json could not be loaded: {0}")]
    Answers(&'static AnswersError),
    #[error("data/questions.json could not be loaded: {0}")]
    Questions(&'static KnowledgeError),
}

/// Parses and checks every static data table now. Call it once at start-up, before
/// serving; later calls return the same result at no cost. The extractor's automaton,
/// the largest part, is built on a second thread while the other tables parse.
pub fn init() -> Result<(), DataError> {
    std::thread::scope(|s| {
        let extractor = std::thread::Builder::new()
            .name("aurum-init".into())
            .spawn_scoped(s, extract::warm);
        let tables = init_tables();
        let words = match extractor {
            Ok(thread) => thread
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            // No thread to be had: the same work on this one.
            Err(_) => extract::warm(),
        };
        tables?;
        words.map_err(DataError::Words)
    })
}

fn init_tables() -> Result<(), DataError> {
    market::try_market().map_err(DataError::Market)?;
    incentives::try_incentives().map_err(DataError::Incentives)?;
    pricing::try_pricing_table().map_err(DataError::Pricing)?;
    answers::try_answers().map_err(DataError::Answers)?;
    knowledge::try_knowledge().map_err(DataError::Questions)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_embedded_tables_when_initialised_then_every_table_is_ready() {
        // GIVEN the files compiled into the crate WHEN init runs (twice) THEN both load.
        assert!(init().is_ok());
        assert!(init().is_ok());
        assert!(market::try_market().is_ok_and(|m| !m.zips().is_empty()));
        assert!(incentives::try_incentives().is_ok_and(|t| !t.is_empty()));
        assert!(pricing::try_pricing_table().is_ok());
        assert!(knowledge::try_knowledge().is_ok_and(|k| !k.entries().is_empty()));
    }

    #[test]
    fn given_a_bad_table_then_the_start_up_error_names_the_file_and_the_reason() {
        let market_err: &'static MarketError = Box::leak(Box::new(MarketError::Invalid(
            "ZIP 10001 listed twice".into(),
        )));
        let text = DataError::Market(market_err).to_string();
        assert!(text.contains("data/nyc-market.json"), "{text}");
        assert!(text.contains("ZIP 10001 listed twice"), "{text}");

        let bad_table = r#"{"incentives":[{"id":"x"}]}"#;
        let reason: &'static IncentiveError = Box::leak(Box::new(
            incentives::parse(bad_table).expect_err("incomplete incentive"),
        ));
        let text = DataError::Incentives(reason).to_string();
        assert!(
            text.starts_with("data/incentives.json could not be loaded: "),
            "{text}"
        );
    }
}

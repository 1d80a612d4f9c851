//! The word tables extraction reads (yes/no replies, currency and unit words, periods,
//! number words, the sentiment lexicon, negators, name stop words), kept as data in
//! `shared/data/extract-words.json`. The file is embedded at build time and parsed and
//! checked once, on first use; a malformed file fails loudly, naming the table. Phrase
//! patterns stay in code, next to the logic that reads them.

use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

const WORDS_JSON: &str = include_str!("../../../data/extract-words.json");

static WORDS: LazyLock<Result<Words, WordsError>> = LazyLock::new(|| Words::from_json(WORDS_JSON));

/// The embedded word tables, or why they could not be read.
pub(super) fn try_words() -> Result<&'static Words, &'static WordsError> {
    WORDS.as_ref()
}

/// The embedded word tables. A process that ran `domain::init()` has them; one that did
/// not stops here, naming the table.
pub(super) fn words() -> &'static Words {
    try_words().unwrap_or_else(|e| panic!("{e}"))
}

#[derive(Debug, thiserror::Error)]
pub enum WordsError {
    #[error("data/extract-words.json is not valid JSON for the word tables: {0}")]
    Json(#[from] serde_json::Error),
    #[error("data/extract-words.json: {0}")]
    Invalid(String),
}

/// FNV-1a: the tables are fixed at start-up and only looked up (never filled from a
/// message), and their keys are short words, for which this is several times cheaper than
/// the default SipHash. Sentiment looks up every word of every message.
pub(super) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(super) type WordSet = HashSet<String, BuildHasherDefault<Fnv>>;
type WordMap<V> = HashMap<String, V, BuildHasherDefault<Fnv>>;

/// The word tables, ready for lookups.
#[derive(Debug)]
pub(super) struct Words {
    /// Openings of a bare yes ("sure", "of course").
    pub(super) answer_yes: Vec<String>,
    /// Openings of a bare no ("nope", "not really").
    pub(super) answer_no: Vec<String>,
    /// Words that make a short reply a no ("absolutely not").
    pub(super) answer_negators: WordSet,
    /// Openings that start with "no" but are a yes ("no problem").
    pub(super) answer_yes_despite_no: Vec<String>,
    /// "dollars", "bucks": a currency word after a number.
    pub(super) currency_words: WordSet,
    /// "kw", "years", "kids": a number glued to one of these is no money.
    pub(super) unit_words: WordSet,
    /// "a month", "/mo": a monthly amount follows.
    pub(super) per_month: Vec<String>,
    /// "a year", "/yr": a yearly amount follows.
    pub(super) per_year: Vec<String>,
    /// "a quarter", "every three months": a quarterly amount follows.
    pub(super) per_quarter: Vec<String>,
    /// "every two months": a two-monthly amount follows.
    pub(super) per_two_months: Vec<String>,
    /// "a week", "/wk": a weekly amount follows.
    pub(super) per_week: Vec<String>,
    /// "twenty" … "ninety": with "hundred", the words a written amount can start with.
    pub(super) tens: Vec<String>,
    /// "box", "apt": a five-digit number right after one of these is no ZIP.
    pub(super) zip_not_after: Vec<String>,
    /// "credit", "roof": a sentiment word before one of these describes a fact.
    pub(super) fact_nouns: WordSet,
    /// Lowercased words after "I'm"/"call me" that are not a name.
    pub(super) name_stop_words: WordSet,
    /// Words after which "this is …" still opens a sentence ("hi this is Sam").
    pub(super) name_sentence_openers: WordSet,
    number_words: WordMap<u32>,
    vague_quantities: WordMap<u32>,
    sentiment: WordMap<i32>,
    emoji: HashMap<char, i32>,
    negators: WordSet,
}

impl Words {
    /// "one" → 1, "twenty" → 20 ("a"/"an" count as one).
    pub(super) fn number(&self, word: &str) -> Option<u32> {
        self.number_words.get(word).copied()
    }

    /// "a couple" → 2, "several" → 3.
    pub(super) fn vague_quantity(&self, word: &str) -> Option<u32> {
        self.vague_quantities.get(word).copied()
    }

    /// Lexicon points of one word: ±2 strong, ±1 mild, 0 when it carries no sentiment.
    pub(super) fn sentiment(&self, word: &str) -> i32 {
        self.sentiment.get(word).copied().unwrap_or(0)
    }

    /// Points of one emoji (±1), 0 for any other character.
    pub(super) fn emoji_sentiment(&self, c: char) -> i32 {
        self.emoji.get(&c).copied().unwrap_or(0)
    }

    /// Whether the word (apostrophes stripped, as in "dont") is on the negator list.
    pub(super) fn is_listed_negator(&self, word: &str) -> bool {
        self.negators.contains(word)
    }

    pub(super) fn from_json(json: &str) -> Result<Words, WordsError> {
        let file: WordsFile = serde_json::from_str(json)?;
        file.check()?;
        let set = |list: Vec<String>| list.into_iter().collect::<WordSet>();
        let map = |m: BTreeMap<String, u32>| m.into_iter().collect::<WordMap<u32>>();
        let tens = file
            .numbers
            .words
            .iter()
            .filter(|&(_, &v)| (20..100).contains(&v) && v % 10 == 0)
            .map(|(w, _)| w.clone())
            .collect();
        let s = file.sentiment;
        let mut sentiment = WordMap::default();
        for (points, list) in [
            (2, s.very_positive),
            (1, s.positive),
            (-1, s.negative),
            (-2, s.very_negative),
        ] {
            sentiment.extend(list.into_iter().map(|w| (w, points)));
        }
        let mut emoji = HashMap::new();
        for (points, list) in [(1, s.positive_emoji), (-1, s.negative_emoji)] {
            emoji.extend(
                list.iter()
                    .filter_map(|e| e.chars().next())
                    .map(|c| (c, points)),
            );
        }
        Ok(Words {
            answer_yes: file.answers.yes,
            answer_no: file.answers.no,
            answer_negators: set(file.answers.negators),
            answer_yes_despite_no: file.answers.yes_despite_no,
            currency_words: set(file.money.currency_words),
            unit_words: set(file.money.unit_words),
            per_month: file.money.per_month,
            per_year: file.money.per_year,
            per_quarter: file.money.per_quarter,
            per_two_months: file.money.per_two_months,
            per_week: file.money.per_week,
            tens,
            zip_not_after: file.zip.not_after,
            fact_nouns: set(s.fact_nouns),
            name_stop_words: set(file.name.stop_words),
            name_sentence_openers: set(file.name.sentence_openers),
            number_words: map(file.numbers.words),
            vague_quantities: map(file.numbers.vague_quantities),
            sentiment,
            emoji,
            negators: set(file.negators),
        })
    }
}

// ---------------------------------------------------------------------------------------
// The file as written
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WordsFile {
    #[serde(rename = "about")]
    _about: IgnoredAny,
    answers: AnswersFile,
    money: MoneyFile,
    numbers: NumbersFile,
    zip: ZipFile,
    sentiment: SentimentFile,
    negators: Vec<String>,
    name: NameFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswersFile {
    yes: Vec<String>,
    no: Vec<String>,
    negators: Vec<String>,
    yes_despite_no: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyFile {
    currency_words: Vec<String>,
    unit_words: Vec<String>,
    per_month: Vec<String>,
    per_year: Vec<String>,
    per_quarter: Vec<String>,
    per_two_months: Vec<String>,
    per_week: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumbersFile {
    words: BTreeMap<String, u32>,
    vague_quantities: BTreeMap<String, u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZipFile {
    not_after: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SentimentFile {
    very_positive: Vec<String>,
    positive: Vec<String>,
    negative: Vec<String>,
    very_negative: Vec<String>,
    positive_emoji: Vec<String>,
    negative_emoji: Vec<String>,
    fact_nouns: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameFile {
    stop_words: Vec<String>,
    sentence_openers: Vec<String>,
}

/// What one table entry may look like.
#[derive(Clone, Copy)]
enum Entry {
    /// Compared with one token of the normalised text: `a-z` and inner apostrophes.
    Token,
    /// Compared with the start of the normalised text: lowercase, single spaces.
    Phrase,
    /// Exactly one character.
    Char,
}

fn invalid(msg: String) -> WordsError {
    WordsError::Invalid(msg)
}

fn check_list<'a>(
    name: &str,
    entry: Entry,
    list: impl IntoIterator<Item = &'a String>,
) -> Result<(), WordsError> {
    let mut seen = HashSet::new();
    for w in list {
        let ok = match entry {
            Entry::Token => {
                w.bytes().all(|b| b.is_ascii_lowercase() || b == b'\'')
                    && !w.starts_with('\'')
                    && !w.ends_with('\'')
            }
            Entry::Phrase => {
                *w == w.to_lowercase()
                    && w.trim() == w
                    && !w.contains("  ")
                    && !w.contains(['\t', '\n', '\r'])
            }
            Entry::Char => w.chars().count() == 1,
        };
        let expected = match entry {
            Entry::Token => "one lowercase word (a-z, inner apostrophes)",
            Entry::Phrase => "lowercase, single-spaced, with no surrounding space",
            Entry::Char => "exactly one character",
        };
        if w.is_empty() || !ok {
            return Err(invalid(format!("{name}: {w:?} must be {expected}")));
        }
        if !seen.insert(w.as_str()) {
            return Err(invalid(format!("{name}: {w:?} is listed twice")));
        }
    }
    if seen.is_empty() {
        return Err(invalid(format!("{name} is empty")));
    }
    Ok(())
}

fn check_numbers(name: &str, map: &BTreeMap<String, u32>) -> Result<(), WordsError> {
    check_list(name, Entry::Phrase, map.keys())?;
    match map.iter().find(|&(_, &v)| v == 0) {
        Some((w, _)) => Err(invalid(format!("{name}: {w:?} must be at least 1"))),
        None => Ok(()),
    }
}

impl WordsFile {
    fn check(&self) -> Result<(), WordsError> {
        use Entry::{Char, Phrase, Token};
        let a = &self.answers;
        check_list("answers.yes", Phrase, &a.yes)?;
        check_list("answers.no", Phrase, &a.no)?;
        check_list("answers.negators", Token, &a.negators)?;
        check_list("answers.yes_despite_no", Phrase, &a.yes_despite_no)?;
        let m = &self.money;
        check_list("money.currency_words", Token, &m.currency_words)?;
        check_list("money.unit_words", Token, &m.unit_words)?;
        check_list("money.per_month", Phrase, &m.per_month)?;
        check_list("money.per_year", Phrase, &m.per_year)?;
        check_list("money.per_quarter", Phrase, &m.per_quarter)?;
        check_list("money.per_two_months", Phrase, &m.per_two_months)?;
        check_list("money.per_week", Phrase, &m.per_week)?;
        check_numbers("numbers.words", &self.numbers.words)?;
        check_numbers("numbers.vague_quantities", &self.numbers.vague_quantities)?;
        if !self.numbers.words.values().any(|&v| v >= 20 && v % 10 == 0) {
            return Err(invalid("numbers.words has no tens (twenty …)".to_owned()));
        }
        check_list("zip.not_after", Token, &self.zip.not_after)?;
        let s = &self.sentiment;
        check_list("sentiment.very_positive", Token, &s.very_positive)?;
        check_list("sentiment.positive", Token, &s.positive)?;
        check_list("sentiment.negative", Token, &s.negative)?;
        check_list("sentiment.very_negative", Token, &s.very_negative)?;
        check_list("sentiment.positive_emoji", Char, &s.positive_emoji)?;
        check_list("sentiment.negative_emoji", Char, &s.negative_emoji)?;
        check_list("sentiment.fact_nouns", Token, &s.fact_nouns)?;
        // A word or emoji has one score: the lists must not overlap.
        let lexicon = s
            .very_positive
            .iter()
            .chain(&s.positive)
            .chain(&s.negative)
            .chain(&s.very_negative);
        check_list("sentiment (all four word lists)", Token, lexicon)?;
        let emoji = s.positive_emoji.iter().chain(&s.negative_emoji);
        check_list("sentiment (both emoji lists)", Char, emoji)?;
        check_list("negators", Token, &self.negators)?;
        check_list("name.stop_words", Token, &self.name.stop_words)?;
        check_list("name.sentence_openers", Token, &self.name.sentence_openers)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_embedded_file_when_parsed_then_every_table_is_filled() {
        let w = Words::from_json(WORDS_JSON).expect("data/extract-words.json parses");
        let sizes = [
            ("answers.yes", w.answer_yes.len()),
            ("answers.no", w.answer_no.len()),
            ("answers.negators", w.answer_negators.len()),
            ("answers.yes_despite_no", w.answer_yes_despite_no.len()),
            ("money.currency_words", w.currency_words.len()),
            ("money.unit_words", w.unit_words.len()),
            ("money.per_month", w.per_month.len()),
            ("money.per_year", w.per_year.len()),
            ("numbers.words", w.number_words.len()),
            ("numbers.vague_quantities", w.vague_quantities.len()),
            ("tens", w.tens.len()),
            ("zip.not_after", w.zip_not_after.len()),
            ("sentiment words", w.sentiment.len()),
            ("sentiment emoji", w.emoji.len()),
            ("sentiment.fact_nouns", w.fact_nouns.len()),
            ("negators", w.negators.len()),
            ("name.stop_words", w.name_stop_words.len()),
            ("name.sentence_openers", w.name_sentence_openers.len()),
        ];
        for (table, size) in sizes {
            assert!(size > 0, "{table} is empty");
        }
        assert_eq!(w.tens.len(), 8, "twenty … ninety");
        assert_eq!(w.number("fifty"), Some(50));
        assert_eq!(w.number("a"), Some(1));
        assert_eq!(w.vague_quantity("a couple of"), Some(2));
        assert_eq!(w.sentiment("love"), 2);
        assert_eq!(w.sentiment("expensive"), -1);
        assert_eq!(w.sentiment("roof"), 0);
        assert_eq!(w.emoji_sentiment('👍'), 1);
        assert_eq!(w.emoji_sentiment('x'), 0);
        assert!(w.is_listed_negator("dont"));
    }

    #[test]
    fn given_a_malformed_file_when_parsed_then_the_error_names_the_problem() {
        let err = |json: &str| {
            Words::from_json(json)
                .map(|_| ())
                .expect_err("must be rejected")
                .to_string()
        };
        assert!(err("{").contains("not valid JSON"), "{}", err("{"));
        let good: serde_json::Value = serde_json::from_str(WORDS_JSON).expect("json");
        let with = |pointer: &str, value: serde_json::Value| {
            let mut v = good.clone();
            *v.pointer_mut(pointer).expect("pointer") = value;
            v.to_string()
        };
        let empty = err(&with("/money/unit_words", serde_json::json!([])));
        assert!(empty.contains("money.unit_words is empty"), "{empty}");
        let upper = err(&with("/negators", serde_json::json!(["Not"])));
        assert!(upper.contains("negators: \"Not\""), "{upper}");
        let twice = err(&with("/sentiment/negative", serde_json::json!(["love"])));
        assert!(twice.contains("\"love\" is listed twice"), "{twice}");
        let emoji = err(&with(
            "/sentiment/positive_emoji",
            serde_json::json!(["ab"]),
        ));
        assert!(emoji.contains("exactly one character"), "{emoji}");
        let zero = err(&with("/numbers/words/one", serde_json::json!(0)));
        assert!(zero.contains("\"one\" must be at least 1"), "{zero}");
        let mut unknown = good.clone();
        unknown["extra_table"] = serde_json::json!(["x"]);
        assert!(err(&unknown.to_string()).contains("extra_table"));
    }
}

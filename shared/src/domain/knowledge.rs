//! The questions NYC homeowners ask about going solar, answered from sourced data
//! (`data/questions.json`), and the retrieval that finds which one a message asks.
//!
//! The file: `entries`, one per question, each with `q` (the question as people ask it,
//! then other wordings: informal, misspelt, Spanish), `a` (said as written, once per chat
//! unless asked again), `src` (keys of `sources`, each an organisation and its page),
//! `as_of` (when a money figure or percentage was read; required with one) and
//! `from`/`until` (inclusive dates of a law or programme the answer rests on: outside them
//! it is not said), `covers` (the agent topic of `data/answers.json` that already answers
//! it), `conf` (H primary or several agreeing sources, M one good secondary source, L
//! vendor material or inference); `synonyms` (a word and the variants read as it).
//!
//! Matching is by meaning, not by one keyword: every wording of every question is a
//! TF-IDF vector over its words and the character trigrams of its words (accents folded,
//! common words dropped, plurals cut), so misspellings, texting and Spanish wordings still
//! share most features with a stored wording. A message sentence that reads as a question
//! is scored by cosine against every wording; an entry's score is that of its closest
//! wording, and below [`MATCH_THRESHOLD`] nothing matches. The index is built once per
//! process; a lookup is a few hash probes per feature.

use super::facts::Topic;
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

const QUESTIONS_JSON: &str = include_str!("../../data/questions.json");

/// The lowest cosine similarity that counts as a match (chosen on the data file's own
/// wordings against statements and off-topic questions, never on the held-out set).
pub const MATCH_THRESHOLD: f32 = 0.41;

/// At most this many questions are answered from one message.
const MAX_PER_MESSAGE: usize = 2;

static KNOWLEDGE: LazyLock<Result<KnowledgeBase, KnowledgeError>> =
    LazyLock::new(|| KnowledgeBase::parse(QUESTIONS_JSON));

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("not valid JSON for the question table: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

/// The embedded knowledge base, or why it could not be read.
pub fn try_knowledge() -> Result<&'static KnowledgeBase, &'static KnowledgeError> {
    KNOWLEDGE.as_ref()
}

/// The embedded knowledge base. A process that ran `domain::init()` has it.
pub fn knowledge() -> &'static KnowledgeBase {
    try_knowledge().unwrap_or_else(|e| panic!("data/questions.json: {e}"))
}

/// One question and its answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub id: String,
    /// The subject area: cost, house, roof, grid, money, contracts, process, trust, renters.
    pub topic: String,
    /// The agent topic whose answer already says this, if any.
    #[serde(default, deserialize_with = "topic_id")]
    pub covers: Option<Topic>,
    /// The question, then other wordings of it.
    pub q: Vec<String>,
    pub a: String,
    /// Source ids (keys of the file's `sources`).
    pub src: Vec<String>,
    /// When the money figures were read ("2026-12").
    #[serde(default)]
    pub as_of: Option<String>,
    /// The answer holds from this day (inclusive).
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// The answer holds until this day (inclusive).
    #[serde(default)]
    pub until: Option<NaiveDate>,
    pub conf: String,
}

impl Entry {
    /// Whether the answer may be said on `day`.
    pub fn holds_on(&self, day: NaiveDate) -> bool {
        self.from.is_none_or(|f| f <= day) && self.until.is_none_or(|u| day <= u)
    }
}

fn topic_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Topic>, D::Error> {
    let id: Option<String> = Option::deserialize(d)?;
    id.map(|id| {
        Topic::parse(&id).ok_or_else(|| serde::de::Error::custom(format!("unknown topic {id}")))
    })
    .transpose()
}

/// A source: who published it and where.
#[derive(Debug, Clone, Deserialize)]
pub struct Source(pub String, pub String);

#[derive(Deserialize)]
struct QuestionsFile {
    /// Canonical word -> the words read as it (synonyms, Spanish, texting, misspellings).
    #[serde(default)]
    synonyms: BTreeMap<String, Vec<String>>,
    sources: BTreeMap<String, Source>,
    entries: Vec<Entry>,
}

/// An entry a message asks, with how close the closest wording was (cosine, 0..=1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnownQuestion {
    pub entry: u16,
    pub score: f32,
}

#[derive(Debug)]
pub struct KnowledgeBase {
    entries: Vec<Entry>,
    sources: BTreeMap<String, Source>,
    index: Index,
}

impl KnowledgeBase {
    pub fn parse(json: &str) -> Result<KnowledgeBase, KnowledgeError> {
        let file: QuestionsFile = serde_json::from_str(json)?;
        let invalid = |msg: String| Err(KnowledgeError::Invalid(msg));
        if file.entries.len() > usize::from(u16::MAX) {
            return invalid("too many entries".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for e in &file.entries {
            if !seen.insert(e.id.as_str()) {
                return invalid(format!("entry {} listed twice", e.id));
            }
            if e.q.len() < 3 || e.q.iter().any(|q| q.trim().is_empty()) {
                return invalid(format!("entry {}: fewer than three wordings", e.id));
            }
            if e.a.trim().is_empty() {
                return invalid(format!("entry {}: empty answer", e.id));
            }
            if e.src.is_empty() {
                return invalid(format!("entry {}: no source", e.id));
            }
            if let Some(missing) = e.src.iter().find(|s| !file.sources.contains_key(*s)) {
                return invalid(format!("entry {}: unknown source {missing}", e.id));
            }
            let money = e.a.contains('$') || e.a.contains('%') || e.a.contains(" cents");
            if money && e.as_of.is_none() && e.from.is_none() {
                return invalid(format!("entry {}: a money figure without a date", e.id));
            }
            if let (Some(f), Some(u)) = (e.from, e.until)
                && u < f
            {
                return invalid(format!("entry {}: ends before it starts", e.id));
            }
        }
        let mut seen_variant = std::collections::BTreeMap::new();
        for (word, variants) in &file.synonyms {
            for v in variants {
                if let Some(other) = seen_variant.insert(v.as_str(), word.as_str())
                    && other != word
                {
                    return invalid(format!("synonym {v} listed under {other} and {word}"));
                }
            }
        }
        let index = Index::build(&file.entries, Lexicon::new(&file.synonyms));
        Ok(KnowledgeBase {
            entries: file.entries,
            sources: file.sources,
            index,
        })
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn entry(&self, i: u16) -> &Entry {
        &self.entries[usize::from(i)]
    }

    pub fn by_id(&self, id: &str) -> Option<u16> {
        self.entries
            .iter()
            .position(|e| e.id == id)
            .and_then(|i| u16::try_from(i).ok())
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.get(id)
    }

    /// The entry `text` is closest to, as one question, if it is close enough.
    pub fn lookup(&self, text: &str) -> Option<KnownQuestion> {
        self.index.best(text)
    }

    /// The entries the sentences of `lower` (normalised message text) that read as
    /// questions ask, best first, each entry once, at most [`MAX_PER_MESSAGE`].
    pub fn asked_in(&self, lower: &str) -> Vec<KnownQuestion> {
        let mut found: Vec<KnownQuestion> = Vec::new();
        for sentence in lower
            .split_inclusive(['?', '!', '.', '\n'])
            .filter(|s| reads_as_question(s))
        {
            if let Some(hit) = self.index.best(sentence) {
                match found.iter_mut().find(|k| k.entry == hit.entry) {
                    Some(k) => k.score = k.score.max(hit.score),
                    None => found.push(hit),
                }
            }
        }
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        found.truncate(MAX_PER_MESSAGE);
        found
    }
}

/// Words that open a question (English, Spanish, texting), after any filler opener.
const OPENERS: &[&str] = &[
    "how",
    "hw",
    "what",
    "whats",
    "wat",
    "wut",
    "why",
    "when",
    "where",
    "which",
    "who",
    "whos",
    "can",
    "could",
    "would",
    "will",
    "should",
    "do",
    "does",
    "did",
    "is",
    "are",
    "r",
    "am",
    "any",
    "anyone",
    "tell",
    "explain",
    "wondering",
    "curious",
    "cuanto",
    "cuanta",
    "cuantos",
    "cuantas",
    "como",
    "que",
    "cual",
    "cuales",
    "cuando",
    "donde",
    "puedo",
    "puede",
    "hay",
    "necesito",
    "tengo",
    "vale",
    "es",
    "quiero",
    "dime",
    "sigue",
    "me",
    "se",
    "los",
    "si",
];

/// Leading words skipped before looking for an opener.
const FILLERS: &[&str] = &[
    "hi", "hey", "hello", "yo", "ok", "okay", "so", "and", "also", "but", "btw", "well", "oh",
    "hola", "quick", "question", "pero", "y", "i", "we", "my", "our",
];

/// Question words that ask wherever they stand ("my roof faces west, is that bad").
const ASKING: &[&str] = &[
    "how", "hw", "what", "whats", "wat", "why", "when", "where", "which", "whos", "cuanto",
    "cuanta", "cuantos", "cuantas", "como", "cual", "cuando", "donde", "que", "cuánto", "cuánta",
    "cuántos", "cuántas", "cómo", "cuál", "cuándo", "dónde", "qué",
];

/// A verb that asks when a subject follows it ("is that", "can i", "do panels").
const AUXILIARIES: &[&str] = &[
    "is", "are", "can", "do", "does", "did", "will", "would", "should", "could", "r",
];

/// Subjects after which an auxiliary asks.
const SUBJECTS: &[&str] = &[
    "i", "we", "you", "u", "it", "they", "that", "this", "there", "the", "my", "our", "panels",
    "solar", "he", "she", "a",
];

/// Words that weigh options or ask for a judgement ("lease or buy", "is it worth it").
const WEIGHING: &[&str] = &["or", "better", "worth", "vs", "versus"];

const OPENER: u8 = 1;
const FILLER: u8 = 2;
const ASKS: u8 = 4;
const AUXILIARY: u8 = 8;
const SUBJECT: u8 = 16;

/// Each listed word with the classes it belongs to, for one lookup per word.
static WORD_CLASSES: LazyLock<HashMap<&'static str, u8, BuildHasherDefault<Fnv>>> =
    LazyLock::new(|| {
        let mut map = HashMap::default();
        for (list, class) in [
            (OPENERS, OPENER),
            (FILLERS, FILLER),
            (ASKING, ASKS),
            (WEIGHING, ASKS),
            (AUXILIARIES, AUXILIARY),
            (SUBJECTS, SUBJECT),
        ] {
            for w in list {
                *map.entry(*w).or_default() |= class;
            }
        }
        map
    });

/// A sentence reads as a question: it has a question mark, opens (after fillers) with a
/// question word, holds a question word or an inverted verb and subject, or asks to be
/// told ("I want to know", "quiero saber"). Whether it asks something the knowledge base
/// answers is for the match threshold to say.
fn reads_as_question(sentence: &str) -> bool {
    if sentence.contains('?') || sentence.contains('¿') {
        return true;
    }
    let mut opens = None;
    let mut previous = 0u8;
    let mut asks = false;
    for w in sentence.split(|c: char| !c.is_alphanumeric()) {
        if w.is_empty() {
            continue;
        }
        let class = WORD_CLASSES.get(w).copied().unwrap_or(0);
        if opens.is_none() && class & FILLER == 0 {
            opens = Some(class & OPENER != 0);
        }
        // A question word anywhere, or an auxiliary followed by its subject.
        if class & ASKS != 0 || (previous & AUXILIARY != 0 && class & SUBJECT != 0) {
            asks = true;
        }
        previous = class;
    }
    opens == Some(true)
        || asks
        || sentence.contains("want to know")
        || sentence.contains("wanna know")
        || sentence.contains("quiero saber")
}

/// Words that carry no meaning for matching (English, Spanish, texting).
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "i", "me", "my", "mine", "we", "us", "our", "you", "your", "u", "ur", "it",
    "its", "is", "are", "am", "be", "been", "was", "were", "r", "do", "does", "did", "to", "of",
    "in", "on", "at", "for", "with", "w", "and", "or", "but", "so", "if", "that", "this", "these",
    "those", "there", "what", "whats", "wat", "wut", "how", "hw", "why", "when", "where", "which",
    "who", "can", "could", "would", "will", "should", "any", "some", "just", "like", "really",
    "get", "got", "about", "from", "by", "as", "im", "ive", "id", "hi", "hey", "hello", "ok",
    "okay", "pls", "plz", "please", "thanks", "thx", "know", "want", "wanna", "gonna", "tell",
    "still", "then", "also", "n", "lol", "tho", "ya", "el", "la", "los", "las", "un", "una", "de",
    "del", "en", "y", "o", "que", "es", "mi", "mis", "se", "por", "para", "con", "lo", "le", "al",
    "yo", "hay", "si", "su", "sus",
];

static STOPWORD_SET: LazyLock<std::collections::HashSet<&'static str, BuildHasherDefault<Fnv>>> =
    LazyLock::new(|| STOPWORDS.iter().copied().collect());

/// Folds accents, drops apostrophes, splits into lowercase words.
fn split_words(text: &str, mut each: impl FnMut(&str)) {
    let mut word = String::with_capacity(16);
    for c in text.chars() {
        let c = match c {
            'á' | 'à' | 'â' | 'ä' | 'Á' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'Í' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'Ó' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' => 'u',
            'ñ' | 'Ñ' => 'n',
            '\'' | '\u{2019}' => continue,
            c => c,
        };
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            each(&word);
            word.clear();
        }
    }
    if !word.is_empty() {
        each(&word);
    }
}

/// "panels" -> "panel", "batteries" -> "battery"; short words and "-ss/-us/-is" kept.
fn singular(word: &str) -> &str {
    let len = word.len();
    if len > 3
        && word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        &word[..len - 1]
    } else {
        word
    }
}

/// How words are read: common words dropped, variants (synonyms, Spanish, texting) mapped
/// to one canonical word, and, in queries, a misspelt word (one edit from a known word)
/// replaced by that word.
/// FNV-1a for the word maps: short keys, no untrusted-key flooding concern (the keys are
/// the data file's words).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type WordMap = HashMap<String, String, BuildHasherDefault<Fnv>>;

#[derive(Debug, Default)]
struct Lexicon {
    canonical: WordMap,
    /// Every known word, and every known word with one letter deleted -> the known word.
    near: WordMap,
}

impl Lexicon {
    fn new(synonyms: &BTreeMap<String, Vec<String>>) -> Lexicon {
        let mut canonical = WordMap::default();
        for (word, variants) in synonyms {
            for v in variants {
                canonical.insert(v.clone(), word.clone());
            }
            canonical.insert(word.clone(), word.clone());
        }
        Lexicon {
            canonical,
            near: WordMap::default(),
        }
    }

    /// Learns the words of the stored wordings (and every variant) for spelling repair.
    fn learn(&mut self, known: &std::collections::BTreeSet<String>) {
        let mut near = WordMap::default();
        let variants = self.canonical.keys().cloned().collect::<Vec<_>>();
        for w in known.iter().chain(&variants) {
            near.entry(w.clone()).or_insert_with(|| w.clone());
        }
        for w in known.iter().chain(&variants) {
            if w.chars().count() < 4 {
                continue;
            }
            for (i, _) in w.char_indices() {
                let mut d = w.clone();
                d.remove(i);
                near.entry(d).or_insert_with(|| w.clone());
            }
        }
        self.near = near;
    }

    fn map<'a>(&'a self, word: &'a str) -> &'a str {
        if let Some(c) = self.canonical.get(word) {
            return c;
        }
        let one = singular(word);
        self.canonical.get(one).map_or(one, String::as_str)
    }

    /// Calls `each` with the words of `text` that carry meaning, canonical; `repair`
    /// fixes misspellings.
    fn each_token(&self, text: &str, repair: bool, mut each: impl FnMut(&str)) {
        split_words(text, |raw| {
            if STOPWORD_SET.contains(raw) {
                return;
            }
            let word = self.map(raw);
            if repair
                && raw.len() >= 4
                && !self.near.contains_key(word)
                && let Some(fixed) = self.repair(raw)
            {
                each(self.map(fixed));
                return;
            }
            each(word);
        });
    }

    /// A known word one edit (insertion, deletion, substitution, swap) from `word`.
    fn repair(&self, word: &str) -> Option<&str> {
        if let Some(w) = self.near.get(word) {
            return Some(w);
        }
        let mut d = String::with_capacity(word.len());
        for (i, c) in word.char_indices() {
            d.clear();
            d.push_str(&word[..i]);
            d.push_str(&word[i + c.len_utf8()..]);
            if let Some(w) = self.near.get(&d) {
                return Some(w);
            }
        }
        None
    }
}

/// The features of a text with their counts: each word, and the trigrams of `^word$`.
fn features(lexicon: &Lexicon, text: &str, repair: bool, out: &mut Vec<(u32, f32)>) {
    out.clear();
    let mut padded = [0u8; 40];
    lexicon.each_token(text, repair, |w| {
        out.push((feature(b'w', w.as_bytes()), WORD_WEIGHT));
        let len = w.len().min(padded.len() - 2);
        padded[0] = b'^';
        padded[1..=len].copy_from_slice(&w.as_bytes()[..len]);
        padded[len + 1] = b'$';
        for g in padded[..len + 2].windows(3) {
            out.push((feature(b'g', g), 1.0));
        }
    });
    out.sort_unstable_by_key(|f| f.0);
    out.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
}

/// FNV-1a over bytes, seeded by the kind of feature.
fn feature(kind: u8, bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5 ^ u32::from(kind);
    for &b in bytes {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// How much of an entry's score is its closest wording (the rest: the entry as a whole).
const CLOSEST_SHARE: f32 = 0.6;

/// A whole word counts as much as this many shared trigrams.
const WORD_WEIGHT: f32 = 2.0;

/// Feature ids are already hashes: the map uses them as they are.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[derive(Debug)]
struct Index {
    /// Feature -> (idf, range in `postings`).
    features: HashMap<u32, (f32, u32, u32), BuildHasherDefault<Identity>>,
    /// (wording, weight of the feature in the wording's unit vector).
    postings: Vec<(u16, f32)>,
    /// The entry of each wording (documents past these are the entries, whole).
    entry_of: Vec<u16>,
    /// Entry `i`'s wordings are documents `wordings_of[i]..wordings_of[i + 1]`.
    wordings_of: Vec<u32>,
    entries: usize,
    /// The weight an unknown query feature gets (the rarest idf).
    unknown_idf: f32,
    lexicon: Lexicon,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity")
    }
}

/// Reused per thread: the query's features, the score of every document, the best
/// wording's score per entry.
type Scratch = (Vec<(u32, f32)>, Vec<f32>, Vec<f32>);

fn tf(count: f32) -> f32 {
    1.0 + count.ln()
}

impl Index {
    fn build(entries: &[Entry], mut lexicon: Lexicon) -> Index {
        let mut known = std::collections::BTreeSet::new();
        let mut docs: Vec<(u16, Vec<(u32, f32)>)> = Vec::new();
        let mut whole: Vec<BTreeMap<u32, f32>> = vec![BTreeMap::new(); entries.len()];
        for (i, e) in entries.iter().enumerate() {
            let entry = u16::try_from(i).unwrap_or(u16::MAX);
            for q in &e.q {
                let mut f = Vec::new();
                features(&lexicon, q, false, &mut f);
                lexicon.each_token(q, false, |w| {
                    known.insert(w.to_owned());
                });
                for (id, c) in &f {
                    *whole[i].entry(*id).or_default() += c;
                }
                docs.push((entry, f));
            }
        }
        let n = docs.len() as f32;
        let mut df: HashMap<u32, u32> = HashMap::new();
        for (_, f) in &docs {
            for (id, _) in f {
                *df.entry(*id).or_default() += 1;
            }
        }
        let wordings = docs.len();
        // Each entry is also one document of all its wordings: the closest wording finds
        // the question, the whole entry keeps one lucky word from deciding it.
        for (i, f) in whole.into_iter().enumerate() {
            docs.push((
                u16::try_from(i).unwrap_or(u16::MAX),
                f.into_iter().collect(),
            ));
        }
        let idf = |d: u32| ((n + 1.0) / (d as f32 + 1.0)).ln() + 1.0;
        let unknown_idf = idf(0);
        let mut lists: BTreeMap<u32, Vec<(u16, f32)>> = BTreeMap::new();
        for (doc, (_, f)) in docs.iter().enumerate() {
            let weights: Vec<(u32, f32)> = f
                .iter()
                .map(|(id, c)| (*id, tf(*c) * idf(df[id])))
                .collect();
            let norm = weights.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            let doc = u16::try_from(doc).unwrap_or(u16::MAX);
            for (id, w) in weights {
                lists
                    .entry(id)
                    .or_default()
                    .push((doc, w / norm.max(f32::MIN_POSITIVE)));
            }
        }
        let mut features = HashMap::with_capacity_and_hasher(lists.len(), Default::default());
        let mut postings = Vec::new();
        for (id, list) in lists {
            let start = postings.len() as u32;
            postings.extend(list);
            features.insert(id, (idf(df[&id]), start, postings.len() as u32));
        }
        Index {
            features,
            postings,
            entry_of: docs.iter().take(wordings).map(|(e, _)| *e).collect(),
            wordings_of: {
                let mut starts = vec![0u32];
                let mut at = 0u32;
                for e in entries {
                    at += e.q.len() as u32;
                    starts.push(at);
                }
                starts
            },
            entries: entries.len(),
            unknown_idf,
            lexicon: {
                lexicon.learn(&known);
                lexicon
            },
        }
    }

    fn best(&self, text: &str) -> Option<KnownQuestion> {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Scratch> =
                const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
        }
        SCRATCH.with_borrow_mut(|(query, scores, best_wording)| {
            features(&self.lexicon, text, true, query);
            if query.is_empty() {
                return None;
            }
            scores.clear();
            scores.resize(self.entry_of.len() + self.entries, 0.0);
            let mut norm = 0.0f32;
            for (id, count) in query.iter() {
                match self.features.get(id) {
                    Some(&(_, start, end)) if start == end => {}
                    Some(&(idf, start, end)) => {
                        let w = tf(*count) * idf;
                        norm += w * w;
                        for &(doc, dw) in &self.postings[start as usize..end as usize] {
                            scores[usize::from(doc)] += w * dw;
                        }
                    }
                    None => {
                        let w = tf(*count) * self.unknown_idf;
                        norm += w * w;
                    }
                }
            }
            let norm = norm.sqrt().max(f32::MIN_POSITIVE);
            let (closest, whole) = scores.split_at(self.entry_of.len());
            best_wording.clear();
            best_wording.extend(self.wordings_of.windows(2).map(|w| {
                closest[w[0] as usize..w[1] as usize]
                    .iter()
                    .fold(0.0f32, |m, s| m.max(*s))
            }));
            let (entry, dot) = best_wording
                .iter()
                .zip(whole.iter())
                .map(|(w, e)| CLOSEST_SHARE * w + (1.0 - CLOSEST_SHARE) * e)
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(&b.1))?;
            let score = dot / norm;
            let entry = u16::try_from(entry).ok()?;
            (score >= MATCH_THRESHOLD).then_some(KnownQuestion { entry, score })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(text: &str) -> Option<&'static str> {
        let kb = knowledge();
        kb.lookup(text).map(|k| kb.entry(k.entry).id.as_str())
    }

    #[test]
    fn given_the_embedded_file_when_parsed_then_it_holds_sixty_sourced_questions_or_more() {
        let kb = try_knowledge().expect("data/questions.json loads");
        assert!(kb.entries().len() >= 60, "{}", kb.entries().len());
        for e in kb.entries() {
            assert!(e.q.len() >= 3, "{}", e.id);
            for s in &e.src {
                let source = kb.source(s).expect("named source");
                assert!(!source.0.is_empty(), "{s}");
            }
        }
        let areas: std::collections::BTreeSet<&str> =
            kb.entries().iter().map(|e| e.topic.as_str()).collect();
        for area in [
            "cost",
            "house",
            "roof",
            "grid",
            "money",
            "contracts",
            "process",
            "trust",
            "renters",
        ] {
            assert!(areas.contains(area), "{area}");
        }
    }

    #[test]
    fn given_every_stored_wording_when_looked_up_then_its_own_entry_is_found() {
        let kb = knowledge();
        let mut misses = Vec::new();
        for e in kb.entries() {
            for q in &e.q {
                if id_of(q) != Some(e.id.as_str()) {
                    misses.push(format!("{q:?} -> {:?} (want {})", id_of(q), e.id));
                }
            }
        }
        assert!(misses.is_empty(), "{misses:#?}");
    }

    #[test]
    fn given_statements_and_small_talk_when_read_then_no_question_is_matched() {
        let kb = knowledge();
        for text in [
            "I own a single-family house in Park Slope, ZIP 11215",
            "our bill is about $300 a month",
            "ok",
            "thanks, bye!",
            "You can reach me at 718-555-0142",
            "Yes, please have an installer call me",
            "my wife and I decide together",
            "how are you today?",
            "what's the weather like tomorrow?",
            "soy dueño de la casa",
        ] {
            assert_eq!(kb.asked_in(&text.to_lowercase()), [], "{text}");
        }
    }

    #[test]
    fn given_a_message_with_two_questions_when_read_then_both_entries_are_found() {
        let kb = knowledge();
        let asked = kb
            .asked_in("do panels work in a blackout? and is there a deadline for the incentives?");
        let ids: Vec<&str> = asked
            .iter()
            .map(|k| kb.entry(k.entry).id.as_str())
            .collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(
            ids.contains(&"blackout") && ids.contains(&"deadlines"),
            "{ids:?}"
        );
    }

    #[test]
    fn given_dated_entries_when_checked_on_a_day_then_only_those_in_force_hold() {
        let kb = knowledge();
        let abatement = kb.entry(kb.by_id("nyc_abatement").expect("entry"));
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert!(abatement.holds_on(day(2026, 12, 8)));
        assert!(!abatement.holds_on(day(2035, 1, 1)));
        assert!(!abatement.holds_on(day(2023, 12, 31)));
    }

    #[test]
    fn given_bad_files_when_parsed_then_the_error_names_the_entry() {
        let entry = |a: &str, src: &str, extra: &str| {
            format!(
                r#"{{"sources":{{"s":["Org","https://example.org"]}},"entries":[{{"id":"x","topic":"cost","q":["a","b","c"],"a":"{a}","src":["{src}"],"conf":"L"{extra}}}]}}"#
            )
        };
        let err = KnowledgeBase::parse(&entry("It costs $5.", "s", "")).expect_err("undated");
        assert!(err.to_string().contains("entry x"), "{err}");
        let err = KnowledgeBase::parse(&entry("Fine.", "nope", "")).expect_err("source");
        assert!(err.to_string().contains("unknown source nope"), "{err}");
        assert!(KnowledgeBase::parse(&entry("It costs $5.", "s", r#","as_of":"2026-12""#)).is_ok());
    }
}

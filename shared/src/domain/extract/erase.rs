//! A request to erase one's data ("delete my data", "please erase my info", "forget me",
//! "I want my information deleted", "borra mis datos", "elimina mi información"), told
//! apart from a negated one ("don't delete my data") and from a question about the policy
//! ("will you delete my data if I ask?", "how do I delete my info?").
//!
//! # How it works
//!
//! The normalised text is cut into words, clause breaks (`,` `;` `:` and the words "and",
//! "but", "y", "pero"…) and sentence ends (`.` `!` `?` a line break). Words are compared
//! with accents folded ("información" is "informacion").
//!
//! * An **erasing word** is a verb or its noun (delete, erase, remove, wipe, purge, forget,
//!   destroy, scrub, "get rid of", deletion, removal, erasure; Spanish stems borr-,
//!   elimin-, suprim-, olvid- and quit- forms), a misspelling of one within one edit
//!   (insert, drop, change or swap two letters: "delet", "dlete", "erace", "remvoe") for
//!   words of five letters or more; "forgot" and "remote" are never one.
//! * It erases **data** when, in the same clause and within six words after it, a
//!   possessive ("my", "our", "mis", "mi") comes before a data noun (data, info,
//!   information, details, phone, number, email, name, address, account, profile,
//!   records, contact; datos, información, teléfono, correo, nombre, dirección…, also
//!   misspelt within one edit), or the erasing word takes "me" ("forget me", "delete me",
//!   "bórrame", "olvídame"; "remove me" only "from your database/system/records"), or
//!   "everything … on/about me". A past participle after a possessive and a data noun is
//!   the passive form ("I want my information deleted", "quiero mis datos borrados"),
//!   unless it reports a past ("my email was deleted"). "Right to be forgotten" and
//!   "derecho al olvido" count on their own.
//! * A subject before the verb makes it a statement, not a request ("I always forget my
//!   account number").
//! * **Negation**: a negator (don't, do not, never, no, won't, no need, nunca…) or a hedge
//!   (maybe, might, not sure, thinking about, quizás…) in the four words before the match,
//!   inside its clause, cancels it: "don't delete my data", "no borren mis datos", but not
//!   "don't call me, just delete my data".
//! * **Questions**: in a sentence that ends with `?`, holds `¿` or opens with an
//!   interrogative ("will", "do you", "how", "puedo"…), only a polite request erases ("can
//!   you delete my data?", "could you please remove my info?", "¿pueden borrar mis
//!   datos?"), and not when it speaks of later or of a condition ("if I ask", "later", "in
//!   the future", "si lo pido", "más tarde") or of what the homeowner can do ("can I delete
//!   my data?", "how do I…"). A statement about later or a condition ("if I don't buy,
//!   delete my data later") does not erase either. These ask about the policy instead: the
//!   message raises the `Privacy` topic, which the agent answers.

/// What a message says about erasing the homeowner's data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct EraseRead {
    /// The homeowner asks for their data to be erased.
    pub request: bool,
    /// The homeowner asks about erasing their data (the policy), without asking for it.
    pub asks: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Word(&'a str),
    /// `,` `;` `:` and the like.
    Clause,
    /// `.` `!` or a line break (`false`), `?` (`true`).
    End(bool),
}

/// A cheap gate: none of the letters an erasing word starts with (or, misspelt, holds).
fn may_erase(lower: &str) -> bool {
    const HINTS: [&str; 20] = [
        "del", "dle", "dlt", "era", "ear", "err", "rem", "rmo", "wip", "pur", "forg", "fog", "des",
        "scr", "rid", "borr", "elim", "supr", "olvid", "quit",
    ];
    HINTS.iter().any(|h| lower.contains(h)) || lower.contains("erac")
}

/// Reads a normalised message (lowercase, single spaces).
pub(super) fn read_erase(lower: &str) -> EraseRead {
    let mut read = EraseRead::default();
    let folded = fold(lower);
    if !may_erase(&folded) {
        return read;
    }
    let toks = tokens(&folded);
    for (i, t) in toks.iter().enumerate() {
        let Tok::Word(w) = *t else { continue };
        let kind = if w == "rid" && rid_of(&toks, i) {
            Some(Kind::Verb { me: Me::Never })
        } else if matches!(w, "forgotten" | "olvido" | "supresion") && right_to(&toks, i) {
            // "right to be forgotten", "derecho al olvido": asks for erasure by name.
            judge(&toks, i, i, false, &mut read);
            None
        } else {
            kind(w)
        };
        match kind {
            Some(Kind::Verb { me }) if verb_object(&toks, i, me) => {
                judge(&toks, i, i, stated(&toks, i), &mut read);
            }
            Some(Kind::Participle) => {
                if let Some(start) = passive_subject(&toks, i) {
                    judge(&toks, start, i, false, &mut read);
                }
            }
            _ => {}
        }
    }
    if read.request {
        read.asks = false;
    }
    read
}

/// Decides the match that starts at token `start` (its erasing word at `verb`); `stated`:
/// a subject comes before the verb ("I always forget my number", "how do I delete…").
fn judge(toks: &[Tok<'_>], start: usize, verb: usize, stated: bool, read: &mut EraseRead) {
    if negated(toks, start) {
        return;
    }
    let words: Vec<&str> = sentence_of(toks, verb)
        .iter()
        .filter_map(|t| match t {
            Tok::Word(w) => Some(*w),
            _ => None,
        })
        .collect();
    let later = speaks_of_later(&words);
    let question = is_question(toks, verb, &words);
    let request = !stated
        && !later
        && (!question
            || ((polite_before(toks, verb) || words.iter().any(|w| PLEASE.contains(w)))
                && !own_ability(&words)));
    if request {
        read.request = true;
    } else if question || later {
        read.asks = true;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An erasing verb (or its noun).
    Verb { me: Me },
    /// Its past participle (the passive form).
    Participle,
}

/// What "me" right after an erasing verb does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Me {
    /// "forget me", "delete me": the homeowner's data.
    After,
    /// "bórrame", "olvídame": the verb holds it already.
    Clitic,
    /// "remove me" alone is an opt-out: only "remove me from your database" erases.
    Never,
}

/// English verbs (and nouns of the act) that erase; misspellings within one edit count.
const VERBS: [&str; 12] = [
    "delete",
    "erase",
    "remove",
    "forget",
    "destroy",
    "deletion",
    "erasure",
    "removal",
    "purge",
    "scrub",
    "wipe",
    "eliminate",
];
const PARTICIPLES: [&str; 9] = [
    "deleted",
    "erased",
    "removed",
    "wiped",
    "purged",
    "destroyed",
    "scrubbed",
    "eliminated",
    "forgotten",
];
/// Words one edit away from an erasing word that are something else.
const NOT_ERASING: [&str; 12] = [
    "forgot", "forged", "remote", "remover", "removes", "purse", "delate", "deplete", "depleted",
    "eased", "piped", "defeated",
];
/// Spanish stems: a word starting so is an erasing verb, or its participle (`-ado(s)`,
/// `-ada(s)`, `-ido(s)`, `-ida(s)`).
const SPANISH_STEMS: [&str; 4] = ["borr", "elimin", "suprim", "olvid"];
/// Spanish past forms that report, not ask ("olvidé mi número": I forgot my number).
const SPANISH_PAST: [&str; 10] = [
    "olvide",
    "olvido",
    "olvidaste",
    "olvidamos",
    "olvidaron",
    "olvidaba",
    "borre",
    "borro",
    "elimine",
    "elimino",
];
/// Spanish forms a misspelling is compared with ("elimna", "borar").
const SPANISH_VERBS: [&str; 7] = [
    "elimina", "eliminar", "eliminen", "borrar", "borren", "suprime", "suprimir",
];
/// "quita mis datos", "quítenme de su base".
const QUITAR: [&str; 8] = [
    "quita",
    "quiten",
    "quitar",
    "quitame",
    "quitenme",
    "quitenlos",
    "quitalos",
    "quitarme",
];

fn kind(w: &str) -> Option<Kind> {
    if w.len() < 4 || NOT_ERASING.contains(&w) {
        return None;
    }
    if PARTICIPLES.contains(&w) {
        return Some(Kind::Participle);
    }
    if VERBS.contains(&w) {
        return Some(Kind::Verb { me: english_me(w) });
    }
    if QUITAR.contains(&w) {
        return Some(Kind::Verb {
            me: if w.ends_with("me") {
                Me::Clitic
            } else {
                Me::Never
            },
        });
    }
    if let Some(stem) = SPANISH_STEMS.iter().find(|s| w.starts_with(**s)) {
        // "borrow" is English.
        if SPANISH_PAST.contains(&w) || w.starts_with("borrow") {
            return None;
        }
        let participle = ["ado", "ados", "ada", "adas", "ido", "idos", "ida", "idas"]
            .iter()
            .any(|end| w.len() > stem.len() + 1 && w.ends_with(end));
        return Some(if participle {
            Kind::Participle
        } else {
            Kind::Verb {
                me: if w.ends_with("me") || w.ends_with("nos") {
                    Me::Clitic
                } else {
                    Me::After
                },
            }
        });
    }
    if w.len() < 5 {
        return None;
    }
    let near = |v: &str| v.len() >= 5 && within_one_edit(w, v);
    let verb = VERBS
        .iter()
        .copied()
        .find(|v| near(v))
        .or_else(|| SPANISH_VERBS.iter().any(|v| near(v)).then_some("delete"));
    let participle = PARTICIPLES.iter().any(|v| near(v));
    match (verb, participle) {
        (Some(_), true) if w.ends_with('d') => Some(Kind::Participle),
        (Some(v), _) => Some(Kind::Verb { me: english_me(v) }),
        (None, true) => Some(Kind::Participle),
        (None, false) => None,
    }
}

fn english_me(verb: &str) -> Me {
    if matches!(verb, "delete" | "erase" | "forget" | "purge" | "wipe") {
        Me::After
    } else {
        Me::Never
    }
}

const POSSESSIVES: [&str; 9] = [
    "my", "our", "mine", "mis", "mi", "nuestros", "nuestra", "nuestras", "nuestro",
];
const DATA_NOUNS: [&str; 42] = [
    "data",
    "info",
    "infos",
    "information",
    "informations",
    "details",
    "detail",
    "deets",
    "number",
    "numbers",
    "phone",
    "cell",
    "email",
    "emails",
    "e-mail",
    "mail",
    "contact",
    "contacts",
    "name",
    "address",
    "records",
    "record",
    "profile",
    "personal",
    "pii",
    "conversation",
    "chat",
    "messages",
    "datos",
    "informacion",
    "informaciones",
    "numero",
    "telefono",
    "celular",
    "correo",
    "nombre",
    "direccion",
    "registros",
    "perfil",
    "contacto",
    "conversacion",
    "mensajes",
];
/// Where data is kept: "remove me from your database".
const STORES: [&str; 8] = [
    "database", "system", "systems", "records", "files", "servers", "base", "sistema",
];

fn data_noun(w: &str) -> bool {
    DATA_NOUNS.contains(&w)
        || (w.len() >= 5
            && DATA_NOUNS
                .iter()
                .any(|n| n.len() >= 5 && within_one_edit(w, n)))
}

/// The words after token `i`, up to the end of its clause (at most seven).
fn words_after<'a>(toks: &[Tok<'a>], i: usize) -> Vec<&'a str> {
    toks[i + 1..]
        .iter()
        .map_while(|t| match t {
            Tok::Word(w) => Some(*w),
            _ => None,
        })
        .take(7)
        .collect()
}

/// Whether the erasing word at `i` has the homeowner's data as its object.
fn verb_object(toks: &[Tok<'_>], i: usize, me: Me) -> bool {
    let after = words_after(toks, i);
    let first = after.first().copied();
    if me == Me::Clitic {
        return true;
    }
    if matches!(first, Some("me" | "us")) {
        // "forget me"; "remove me" only from where data is kept.
        if me == Me::After {
            return true;
        }
        if after.iter().skip(1).take(4).any(|w| STORES.contains(w)) {
            return true;
        }
    }
    if let Some(p) = after.iter().position(|w| POSSESSIVES.contains(w))
        && after.iter().skip(p + 1).take(4).any(|w| data_noun(w))
    {
        return true;
    }
    // "delete everything you have on me", "borra todo lo que tienen de mí".
    if let Some(p) = after
        .iter()
        .position(|w| matches!(*w, "everything" | "all" | "todo" | "anything"))
    {
        return after[p + 1..]
            .windows(2)
            .any(|w| matches!(w[0], "on" | "about" | "of" | "de" | "sobre") && w[1] == "me")
            || after[p + 1..]
                .windows(2)
                .any(|w| matches!(w[0], "de" | "sobre") && w[1] == "mi");
    }
    false
}

/// "get rid of my number": "rid" with "get" before it and "of" after.
fn rid_of(toks: &[Tok<'_>], i: usize) -> bool {
    matches!(toks.get(i + 1), Some(Tok::Word("of")))
        && i > 0
        && matches!(toks[i - 1], Tok::Word("get" | "gets" | "getting"))
}

/// "right to be forgotten", "derecho al olvido", "derecho de supresión".
fn right_to(toks: &[Tok<'_>], i: usize) -> bool {
    let before: Vec<&str> = toks[i.saturating_sub(3)..i]
        .iter()
        .filter_map(|t| match t {
            Tok::Word(w) => Some(*w),
            _ => None,
        })
        .collect();
    matches!(before.as_slice(), [.., "right", "to", "be"])
        || matches!(before.as_slice(), [.., "derecho", "al" | "de"])
}

/// For the participle at `i`: where its possessive and data noun start ("my data
/// deleted"), unless it reports a past ("my email was deleted").
fn passive_subject(toks: &[Tok<'_>], i: usize) -> Option<usize> {
    let Some(Tok::Word(before)) = i.checked_sub(1).map(|j| toks[j]) else {
        return None;
    };
    if matches!(
        before,
        "was"
            | "were"
            | "been"
            | "is"
            | "are"
            | "got"
            | "fue"
            | "fueron"
            | "han"
            | "ha"
            | "has"
            | "have"
            | "had"
            | "i"
            | "we"
            | "they"
            | "he"
            | "she"
            | "it"
            | "you"
    ) {
        return None;
    }
    let mut noun = false;
    let mut j = i;
    while j > 0 && i - j < 7 {
        j -= 1;
        let Tok::Word(w) = toks[j] else { break };
        noun |= data_noun(w);
        if noun && POSSESSIVES.contains(&w) {
            return Some(j);
        }
    }
    None
}

/// A subject right before the verb: a statement about what someone does ("I always
/// forget my account number"), not a request.
fn stated(toks: &[Tok<'_>], i: usize) -> bool {
    let mut j = i;
    while j > 0 {
        j -= 1;
        match toks[j] {
            Tok::Word("always" | "sometimes" | "often" | "usually" | "also" | "still") => {}
            Tok::Word(w) => {
                return matches!(w, "i" | "we" | "he" | "she" | "they" | "it" | "people");
            }
            _ => return false,
        }
    }
    false
}

/// Words that end the reach of a negator before them.
const CLAUSE_WORDS: [&str; 8] = ["and", "but", "then", "just", "so", "y", "pero", "solo"];
/// Negators and hedges.
const NEGATORS: [&str; 22] = [
    "don't",
    "dont",
    "not",
    "never",
    "no",
    "won't",
    "wont",
    "shouldn't",
    "shouldnt",
    "didn't",
    "didnt",
    "doesn't",
    "doesnt",
    "nunca",
    "ni",
    "maybe",
    "might",
    "perhaps",
    "unsure",
    "quizas",
    "thinking",
    "considering",
];

/// A negator or hedge in the four words before `start`, inside its clause.
fn negated(toks: &[Tok<'_>], start: usize) -> bool {
    let mut j = start;
    let mut seen = 0;
    while j > 0 && seen < 4 {
        j -= 1;
        let Tok::Word(w) = toks[j] else { return false };
        if CLAUSE_WORDS.contains(&w) {
            return false;
        }
        let previous = j.checked_sub(1).map(|k| toks[k]);
        if NEGATORS.contains(&w) || (w == "vez" && previous == Some(Tok::Word("tal"))) {
            return true;
        }
        seen += 1;
    }
    false
}

/// The tokens of the sentence holding token `i`, its end mark included.
fn sentence_of<'t, 'a>(toks: &'t [Tok<'a>], i: usize) -> &'t [Tok<'a>] {
    let start = toks[..i]
        .iter()
        .rposition(|t| matches!(t, Tok::End(_)))
        .map_or(0, |p| p + 1);
    let end = toks[i..]
        .iter()
        .position(|t| matches!(t, Tok::End(_)))
        .map_or(toks.len(), |p| i + p + 1);
    &toks[start..end]
}

const INTERROGATIVES: [&str; 26] = [
    "do", "does", "did", "will", "would", "can", "could", "is", "are", "how", "what", "when",
    "why", "where", "should", "shall", "may", "am", "puedo", "pueden", "puede", "como", "que",
    "cuando", "van", "podria",
];

/// Whether the sentence of token `verb` is a question: it ends with `?`, holds `¿`, or
/// opens with an interrogative (after a greeting).
fn is_question(toks: &[Tok<'_>], verb: usize, words: &[&str]) -> bool {
    let ends_with_mark = toks[verb..]
        .iter()
        .find(|t| matches!(t, Tok::End(_)))
        .is_some_and(|t| *t == Tok::End(true));
    ends_with_mark
        || words.contains(&"¿")
        || words
            .iter()
            .find(|w| {
                !matches!(
                    **w,
                    "hi" | "hey" | "hello" | "ok" | "okay" | "so" | "also" | "oh" | "well" | "hola"
                )
            })
            .is_some_and(|w| INTERROGATIVES.contains(w))
}

const PLEASE: [&str; 8] = [
    "please", "pls", "plz", "plis", "kindly", "favor", "porfa", "porfavor",
];

/// "can you", "could you", "would u", "will you", "¿pueden…?", "podrían" in the four
/// words before the verb.
fn polite_before(toks: &[Tok<'_>], verb: usize) -> bool {
    let before: Vec<&str> = toks[verb.saturating_sub(4)..verb]
        .iter()
        .filter_map(|t| match t {
            Tok::Word(w) => Some(*w),
            _ => None,
        })
        .collect();
    before.windows(2).any(|w| {
        matches!(
            w[0],
            "can" | "could" | "would" | "will" | "cn" | "cud" | "wud"
        ) && matches!(w[1], "you" | "u" | "ya" | "yall" | "y'all")
    }) || before.iter().any(|w| {
        matches!(
            *w,
            "pueden" | "puedes" | "podrian" | "podrias" | "podria" | "puede"
        )
    })
}

/// Speaks of later or of a condition: "if I ask", "later", "in the future", "si lo pido".
fn speaks_of_later(words: &[&str]) -> bool {
    words.iter().any(|w| {
        matches!(
            *w,
            "later"
                | "future"
                | "eventually"
                | "afterwards"
                | "afterward"
                | "someday"
                | "anytime"
                | "ever"
                | "futuro"
                | "tarde"
                | "despues"
                | "luego"
        )
    }) || words.windows(2).any(|w| {
        matches!(
            (w[0], w[1]),
            (
                "if",
                "i" | "we" | "i'm" | "im" | "i've" | "someone" | "asked" | "requested"
            ) | ("any", "time")
                | ("one", "day")
                | ("si", "lo" | "quiero" | "pido" | "se" | "les" | "solicito")
                | ("algun", "dia")
        )
    })
}

/// Asks what the homeowner can do: "can I delete…", "how do I…", "is it possible to…".
fn own_ability(words: &[&str]) -> bool {
    words.contains(&"puedo")
        || words.windows(2).any(|w| {
            matches!(
                (w[0], w[1]),
                (
                    "can" | "could" | "do" | "would" | "should" | "may" | "how",
                    "i" | "we"
                ) | ("am", "i")
                    | ("it", "possible")
                    | ("a", "way")
                    | ("como", "borro" | "elimino")
            )
        })
}

/// Accents folded: "información" is "informacion", "bórrame" is "borrame".
fn fold(lower: &str) -> String {
    lower
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

/// Words, clause breaks (the words of [`CLAUSE_WORDS`] stay words: [`negated`] stops
/// at them) and sentence ends. `¿` is kept as a word of its own: a question opens there.
fn tokens(text: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::with_capacity(text.len() / 4);
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() || c == '\'' || c == '-' || c == '@' {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            word(&mut out, &text[s..i]);
        }
        match c {
            '.' | '!' | '\n' => out.push(Tok::End(false)),
            '?' => out.push(Tok::End(true)),
            ',' | ';' | ':' | '(' | ')' | '"' | '¡' => out.push(Tok::Clause),
            '¿' => out.push(Tok::Word("¿")),
            _ => {}
        }
    }
    if let Some(s) = start {
        word(&mut out, &text[s..]);
    }
    out
}

fn word<'a>(out: &mut Vec<Tok<'a>>, w: &'a str) {
    let w = w.trim_matches(|c| c == '\'' || c == '-');
    if !w.is_empty() {
        out.push(Tok::Word(w));
    }
}

/// Optimal-string-alignment distance of at most one: one letter inserted, dropped,
/// changed, or two neighbours swapped.
fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b {
        return true;
    }
    match a.len().abs_diff(b.len()) {
        0 => {
            let mut diffs = (0..a.len()).filter(|&i| a[i] != b[i]);
            match (diffs.next(), diffs.next(), diffs.next()) {
                (Some(_), None, _) => true,
                (Some(x), Some(y), None) => y == x + 1 && a[x] == b[y] && a[y] == b[x],
                _ => false,
            }
        }
        1 => {
            let (long, short) = if a.len() > b.len() { (a, b) } else { (b, a) };
            let first = (0..short.len())
                .find(|&i| long[i] != short[i])
                .unwrap_or(short.len());
            long[first + 1..] == short[first..]
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::extract;
    use crate::domain::facts::Topic;

    /// Every phrasing, through the whole extractor: (message, erases, asks the policy).
    const TABLE: &[(&str, bool, bool)] = &[
        // Requests, English.
        ("delete my data", true, false),
        ("Delete my data.", true, false),
        ("please erase my info", true, false),
        ("remove my phone number and email", true, false),
        ("forget me", true, false),
        ("Forget me please!", true, false),
        ("I want my information deleted", true, false),
        (
            "I'd like my phone and email removed from your records",
            true,
            false,
        ),
        ("get rid of my number", true, false),
        ("wipe all my personal info", true, false),
        ("please delete everything you have on me", true, false),
        ("I want you to delete all my details", true, false),
        ("can you delete my data?", true, false),
        ("Could you please remove my contact info?", true, false),
        ("remove me from your database", true, false),
        ("I request the deletion of my personal data", true, false),
        ("I'm exercising my right to be forgotten", true, false),
        ("don't call me, just delete my data", true, false),
        ("no, delete my info", true, false),
        ("ok thanks. delete my email and name now", true, false),
        // Misspelt and informal.
        ("delet my data", true, false),
        ("pls dlete my info", true, false),
        ("erace my number", true, false),
        ("remvoe my phone numbr", true, false),
        ("plz deleet my infomation", true, false),
        ("remov my email adress pls", true, false),
        ("delete my deets", true, false),
        ("forgett me", true, false),
        // Spanish.
        ("borra mis datos", true, false),
        ("Bórrame de su base por favor", true, false),
        ("elimina mi información", true, false),
        ("Eliminen mi número y mi correo", true, false),
        ("quiero que borren mis datos", true, false),
        ("quiero mis datos borrados", true, false),
        ("olvídame", true, false),
        ("¿pueden borrar mis datos?", true, false),
        ("borra mis datos porfa", true, false),
        ("elimna mi informacion", true, false),
        // Negated: nothing.
        ("don't delete my data", false, false),
        ("please do not erase my info", false, false),
        ("I don't want my information deleted", false, false),
        ("never remove my phone number", false, false),
        ("no need to delete my details", false, false),
        ("no borres mis datos", false, false),
        ("no eliminen mi información", false, false),
        ("maybe delete my data", false, false),
        // Questions about the policy: answered, not erased.
        ("will you delete my data if I ask?", false, true),
        ("Can I delete my data later?", false, true),
        ("how do I delete my info?", false, true),
        ("do you delete my data after the quote", false, true),
        (
            "is it possible to remove my phone number in the future?",
            false,
            true,
        ),
        ("if I don't buy, will my data be deleted?", false, true),
        ("¿borran mis datos si lo pido?", false, true),
        ("¿puedo eliminar mi información más tarde?", false, true),
        // Not about the homeowner's data at all.
        ("I forgot my account number", false, false),
        ("I always forget my phone number", false, false),
        ("my old email was deleted", false, false),
        ("olvidé mi número", false, false),
        ("can solar eliminate my electric bill?", false, false),
        ("we'd need to remove the old tree by the roof", false, false),
        ("delete that, I meant $300", false, false),
        ("remove me", false, false),
        (
            "Our bill is about $320 a month. ZIP is 11105.",
            false,
            false,
        ),
        ("can I borrow my neighbor's ladder", false, false),
        ("the remote for the inverter", false, false),
    ];

    #[test]
    fn given_a_table_of_phrasings_when_extracting_then_requests_erase_and_negations_and_questions_do_not()
     {
        let failures: Vec<String> = TABLE
            .iter()
            .filter_map(|&(text, erases, asks)| {
                let f = extract(text);
                let got = (f.erase_request, f.topics.contains(&Topic::Privacy));
                (got != (erases, asks))
                    .then(|| format!("  {text:?}: want {:?}, got {got:?}", (erases, asks)))
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} of {} failed\n{}",
            failures.len(),
            TABLE.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn given_one_edit_when_compared_then_only_one_edit_is_near() {
        use super::within_one_edit;
        for (a, b, near) in [
            ("delete", "delete", true),
            ("delet", "delete", true),
            ("deleet", "delete", true),
            ("dlete", "delete", true),
            ("delite", "delete", true),
            ("deltee", "delete", true),
            ("dlette", "delete", false),
            ("remote", "remove", true),
            ("erase", "raise", false),
            ("phrase", "erase", false),
        ] {
            assert_eq!(within_one_edit(a, b), near, "{a} {b}");
        }
    }
}

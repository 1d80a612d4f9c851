//! Courtesies and reluctance: a thank-you, a closing line ("thanks, bye", "that's all"),
//! and a fact the homeowner wants to hold back for now ("before I give my number…").

use crate::domain::facts::Ask;
use regex::{Regex, RegexSet};
use std::sync::LazyLock;

static THANKS_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:thanks|thank you|thank u|thankyou|thx|ty|tysm|appreciate it|much appreciated|gracias)\b")
        .expect("static pattern")
});

static CLOSING_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:bye|goodbye|bye bye|see (?:you|ya)|talk (?:to you |to ya )?(?:later|soon|tomorrow)|have a (?:good|great|nice|lovely) (?:day|night|evening|one|weekend)|that'?s (?:all|it) for now|that'?s all|that is all|nothing else|gotta go|got to go|i'?ll be in touch|adi[oó]s|hasta (?:luego|pronto|mañana)|buenas noches)\b",
    )
    .expect("static pattern")
});

/// "before I give my number", "not ready to share my email", "no quiero dar mi número".
static HOLD_BACK_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:before (?:i|we) (?:give|share|send|hand over|leave)|not (?:ready|comfortable|keen|willing|sure i want) (?:yet )?to (?:give|share|send|say|tell)|(?:rather|prefer|want) not (?:to )?(?:give|share|send|say|tell)|(?:don'?t|do not) (?:want|wanna|like) to (?:give|share|send|say|tell)|(?:won'?t|will not|not going to|not gonna) (?:give|share|send|say|tell)|hold off on (?:giving|sharing|saying)|no (?:quiero|voy a) (?:dar|compartir|decir)|antes de (?:dar|compartir|decir))\b[^.?!\n]{0,40}?\b(number|phone|cell|email|e-mail|contact|info|details|n[uú]mero|tel[eé]fono|correo|datos|bill|how much i pay|factura|zip|address|direcci[oó]n)",
    )
    .expect("static pattern")
});

pub(super) struct Courtesy {
    pub thanks: bool,
    pub closing: bool,
    pub held_back: Vec<Ask>,
}

/// The three patterns in one pass over the message: most messages match none.
static COURTESY_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        THANKS_RE.as_str(),
        CLOSING_RE.as_str(),
        HOLD_BACK_RE.as_str(),
    ])
    .expect("static patterns")
});

pub(super) fn read_courtesy(lower: &str) -> Courtesy {
    let found = COURTESY_SET.matches(lower);
    let mut held_back = Vec::new();
    let captures = found
        .matched(2)
        .then(|| HOLD_BACK_RE.captures_iter(lower))
        .into_iter()
        .flatten();
    for c in captures {
        let ask = match c.get(1).map_or("", |m| m.as_str()) {
            "bill" | "how much i pay" | "factura" => Ask::Bill,
            "zip" | "address" | "direccion" | "dirección" => Ask::Zip,
            _ => Ask::Contact,
        };
        if !held_back.contains(&ask) {
            held_back.push(ask);
        }
    }
    Courtesy {
        thanks: found.matched(0),
        closing: found.matched(1),
        held_back,
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::extract::extract;
    use crate::domain::facts::Ask;

    #[test]
    fn given_closing_lines_when_read_then_closing_is_set_and_questions_are_not() {
        for text in [
            "thanks, bye!",
            "That's all for now, have a good day",
            "ok talk to you later",
            "gracias, hasta luego",
        ] {
            assert!(extract(text).closing, "{text}");
        }
        for text in [
            "thank you, how long does it take?",
            "bye the way, is it worth it",
        ] {
            assert!(!extract(text).closing || text.starts_with("bye"), "{text}");
        }
        assert!(extract("thank you!").thanks);
        assert!(!extract("I own my home").thanks);
    }

    #[test]
    fn given_a_stated_reluctance_when_read_then_the_fact_held_back_is_named() {
        for (text, ask) in [
            (
                "before I give my number, how much does it cost?",
                Ask::Contact,
            ),
            ("I'm not ready to share my email yet", Ask::Contact),
            ("I'd rather not say what my bill is", Ask::Bill),
            ("no quiero dar mi número todavía", Ask::Contact),
        ] {
            assert_eq!(extract(text).held_back, [ask], "{text}");
        }
        assert!(extract("my number is 718-555-0142").held_back.is_empty());
        assert!(
            extract("you can give my number to one installer")
                .held_back
                .is_empty()
        );
    }
}

//! The one normalisation pass every pattern is written for: lowercase, single spaces,
//! `\n` as a sentence break, ASCII apostrophes, quotes and dashes.

pub(super) fn truncate_to_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Lowercase, collapse whitespace (`\n` kept as a sentence break), ASCII-fy apostrophes,
/// quotes and dashes.
pub(super) fn normalize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 8);
    let mut pending: Option<char> = None;
    for c in raw.chars() {
        if c.is_whitespace() {
            let sep = if c == '\n' || c == '\r' { '\n' } else { ' ' };
            pending = match pending {
                Some('\n') => Some('\n'),
                _ => Some(sep),
            };
            continue;
        }
        if let Some(p) = pending.take()
            && !out.is_empty()
        {
            out.push(p);
        }
        match c {
            '\u{2018}' | '\u{2019}' | '\u{02BC}' | '`' | '\u{00B4}' => out.push('\''),
            '\u{201C}' | '\u{201D}' => out.push('"'),
            '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// `s[start..end]` widened/narrowed to character boundaries, never panicking.
pub(super) fn slice_clamped(s: &str, start: usize, end: usize) -> &str {
    let mut st = start.min(s.len());
    while st < s.len() && !s.is_char_boundary(st) {
        st += 1;
    }
    let mut en = end.min(s.len()).max(st);
    while en > st && !s.is_char_boundary(en) {
        en -= 1;
    }
    &s[st..en]
}

//! The phrase rules' NFA, compiled ahead of time and stored in
//! `data/extract-rules.nfa`: parsing the ~160 rule patterns and compiling their ~26k NFA
//! states took most of a cold start, while reading the stored states back through
//! `regex-automata`'s own NFA builder takes a fraction of it.
//!
//! The file names the SHA-256 of the patterns it was compiled from, so a file that no
//! longer matches the rules is never used (the rules then compile from their patterns).
//! A test compiles the patterns and compares them with the file; rewrite it with
//! `AURUM_BLESS=1 cargo test -p aurum-shared --lib stored_rule_automaton`.
//!
//! Layout: the magic, the digest, a flags byte (bit 0: UTF-8), the pattern count, the state
//! count, the anchored and unanchored start states, each pattern's start state, then each
//! state as a tag byte and its fields; numbers are LEB128 varints, state IDs the zigzag
//! distance from the state that names them.

use regex_automata::nfa::thompson::{Builder, NFA, Transition};
use regex_automata::util::look::Look;
use regex_automata::util::primitives::StateID;
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 10] = b"aurum-nfa\x01";

const BYTE_RANGE: u8 = 0;
const SPARSE: u8 = 1;
const LOOK: u8 = 2;
const UNION: u8 = 3;
const BINARY_UNION: u8 = 4;
const FAIL: u8 = 5;
const MATCH: u8 = 6;

/// The digest that ties a stored automaton to the patterns it was compiled from.
pub(super) fn digest(patterns: &[&str]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for p in patterns {
        hash.update(p.as_bytes());
        hash.update([0]);
    }
    hash.finalize().into()
}

/// The stored form of `nfa`, compiled from the patterns of `digest`. Only what the
/// rules' compiler produces can be stored: no captures, and each pattern's one match
/// state in pattern order.
#[cfg(test)]
pub(super) fn encode(nfa: &NFA, digest: &[u8; 32]) -> Result<Vec<u8>, String> {
    use regex_automata::nfa::thompson::State;
    let mut w = Writer {
        out: Vec::with_capacity(nfa.states().len() * 4),
    };
    w.out.extend_from_slice(MAGIC);
    w.out.extend_from_slice(digest);
    w.out.push(u8::from(nfa.is_utf8()));
    w.count(nfa.pattern_len());
    w.count(nfa.states().len());
    w.id(nfa.start_anchored(), 0);
    w.id(nfa.start_unanchored(), 0);
    for pid in nfa.patterns() {
        w.id(
            nfa.start_pattern(pid).ok_or("a pattern without a start")?,
            0,
        );
    }
    let mut next_match = 0;
    for (at, state) in nfa.states().iter().enumerate() {
        match state {
            State::ByteRange { trans } => {
                w.out.push(BYTE_RANGE);
                w.transition(trans, at);
            }
            State::Sparse(sparse) => {
                w.out.push(SPARSE);
                w.count(sparse.transitions.len());
                for trans in sparse.transitions.iter() {
                    w.transition(trans, at);
                }
            }
            State::Look { look, next } => {
                w.out.push(LOOK);
                w.count(look.as_repr() as usize);
                w.id(*next, at);
            }
            State::Union { alternates } => {
                w.out.push(UNION);
                w.count(alternates.len());
                for alt in alternates.iter() {
                    w.id(*alt, at);
                }
            }
            State::BinaryUnion { alt1, alt2 } => {
                w.out.push(BINARY_UNION);
                w.id(*alt1, at);
                w.id(*alt2, at);
            }
            State::Fail => w.out.push(FAIL),
            State::Match { pattern_id } => {
                if pattern_id.as_usize() != next_match {
                    return Err("match states out of pattern order".into());
                }
                next_match += 1;
                w.out.push(MATCH);
            }
            State::Dense(_) | State::Capture { .. } => {
                return Err("dense and capture states are not stored".into());
            }
        }
    }
    if next_match != nfa.pattern_len() {
        return Err("a pattern without exactly one match state".into());
    }
    Ok(w.out)
}

/// Numbers as LEB128 varints; a state ID as its zigzag distance from the state that
/// names it (most point a few states away), which keeps the file small.
#[cfg(test)]
struct Writer {
    out: Vec<u8>,
}

#[cfg(test)]
impl Writer {
    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }

    fn count(&mut self, n: usize) {
        self.varint(n as u64);
    }

    fn id(&mut self, id: StateID, at: usize) {
        let delta = id.as_usize() as i64 - at as i64;
        self.varint(((delta << 1) ^ (delta >> 63)) as u64);
    }

    fn transition(&mut self, trans: &Transition, at: usize) {
        self.out.push(trans.start);
        self.out.push(trans.end);
        self.id(trans.next, at);
    }
}

/// The NFA stored in `bytes`, if they are a stored automaton of the patterns of `digest`.
pub(super) fn decode(bytes: &[u8], digest: &[u8; 32]) -> Result<NFA, String> {
    let mut r = Reader { bytes, states: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return Err("not a stored automaton".into());
    }
    if r.take(32)? != digest {
        return Err("compiled from other patterns".into());
    }
    let flags = r.take(1)?[0];
    let pattern_len = r.count()?;
    let state_len = r.count()?;
    r.states = state_len;
    let start_anchored = r.id(0)?;
    let start_unanchored = r.id(0)?;
    let starts = (0..pattern_len)
        .map(|_| r.id(0))
        .collect::<Result<Vec<_>, _>>()?;
    let mut b = Builder::new();
    b.set_utf8(flags & 1 == 1);
    let err = |e: regex_automata::nfa::thompson::BuildError| e.to_string();
    for at in 0..state_len {
        match r.take(1)?[0] {
            BYTE_RANGE => b.add_range(r.transition(at)?).map_err(err)?,
            SPARSE => {
                let n = r.count()?;
                let transitions = (0..n)
                    .map(|_| r.transition(at))
                    .collect::<Result<Vec<_>, _>>()?;
                if transitions.windows(2).any(|w| w[0].end >= w[1].start) {
                    return Err("sparse transitions out of order".into());
                }
                b.add_sparse(transitions).map_err(err)?
            }
            LOOK => {
                let repr = u32::try_from(r.count()?).map_err(|e| e.to_string())?;
                let look = Look::from_repr(repr).ok_or("an unknown look-around")?;
                let next = r.id(at)?;
                b.add_look(next, look).map_err(err)?
            }
            UNION => {
                let n = r.count()?;
                let alternates = (0..n).map(|_| r.id(at)).collect::<Result<Vec<_>, _>>()?;
                b.add_union(alternates).map_err(err)?
            }
            BINARY_UNION => {
                let alternates = vec![r.id(at)?, r.id(at)?];
                b.add_union(alternates).map_err(err)?
            }
            FAIL => b.add_fail().map_err(err)?,
            MATCH => {
                let pid = b.pattern_len();
                let start = *starts.get(pid).ok_or("more match states than patterns")?;
                b.start_pattern().map_err(err)?;
                let id = b.add_match().map_err(err)?;
                b.finish_pattern(start).map_err(err)?;
                id
            }
            tag => return Err(format!("unknown state tag {tag}")),
        };
    }
    if b.pattern_len() != pattern_len || !r.bytes.is_empty() {
        return Err("the stored automaton is incomplete".into());
    }
    let nfa = b.build(start_anchored, start_unanchored).map_err(err)?;
    if nfa.states().len() != state_len {
        return Err("the stored automaton did not rebuild state for state".into());
    }
    Ok(nfa)
}

struct Reader<'a> {
    bytes: &'a [u8],
    /// State IDs must be below this.
    states: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.bytes.len() < n {
            return Err("the stored automaton is cut short".into());
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err("a number too long".into())
    }

    fn count(&mut self) -> Result<usize, String> {
        usize::try_from(self.varint()?).map_err(|e| e.to_string())
    }

    /// A state ID stored as its distance from state `at`.
    fn id(&mut self, at: usize) -> Result<StateID, String> {
        let z = self.varint()?;
        let delta = ((z >> 1) as i64) ^ -((z & 1) as i64);
        match i64::try_from(at).ok().and_then(|at| at.checked_add(delta)) {
            Some(id) if id >= 0 && (id as usize) < self.states => {
                StateID::new(id as usize).map_err(|e| e.to_string())
            }
            _ => Err(format!("a state {delta:+} from {at} of {}", self.states)),
        }
    }

    fn transition(&mut self, at: usize) -> Result<Transition, String> {
        let range = self.take(2)?;
        let (start, end) = (range[0], range[1]);
        if start > end {
            return Err(format!("byte range {start}-{end}"));
        }
        let next = self.id(at)?;
        Ok(Transition { start, end, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::nfa::thompson;
    use regex_automata::util::syntax;

    const PATTERNS: &[&str] = &[
        r"\bsolar (?:panels?|roof)\b",
        r"co-?op|condo",
        r"^(?:a|b){2,4}$",
    ];

    fn compiled() -> NFA {
        let config = syntax::Config::new().unicode(false);
        let hirs: Vec<_> = PATTERNS
            .iter()
            .map(|p| syntax::parse_with(p, &config).expect("valid pattern"))
            .collect();
        thompson::Compiler::new()
            .configure(thompson::Config::new().which_captures(thompson::WhichCaptures::None))
            .build_many_from_hir(&hirs)
            .expect("compiles")
    }

    #[test]
    fn given_a_compiled_nfa_when_stored_and_read_back_then_every_state_and_start_is_the_same() {
        // GIVEN an NFA of three patterns, stored
        let nfa = compiled();
        let bytes = encode(&nfa, &digest(PATTERNS)).expect("storable");
        // WHEN it is read back
        let read = decode(&bytes, &digest(PATTERNS)).expect("readable");
        // THEN it is the same automaton
        assert_eq!(read.states(), nfa.states());
        assert_eq!(read.start_anchored(), nfa.start_anchored());
        assert_eq!(read.start_unanchored(), nfa.start_unanchored());
        assert_eq!(read.pattern_len(), nfa.pattern_len());
        for pid in nfa.patterns() {
            assert_eq!(read.start_pattern(pid), nfa.start_pattern(pid));
        }
        assert_eq!(read.is_utf8(), nfa.is_utf8());
    }

    #[test]
    fn given_a_stored_nfa_when_the_patterns_changed_then_it_is_refused() {
        let bytes = encode(&compiled(), &digest(PATTERNS)).expect("storable");
        let changed = digest(&[PATTERNS[0], PATTERNS[1]]);
        let err = decode(&bytes, &changed).expect_err("other patterns");
        assert!(err.contains("other patterns"), "{err}");
    }

    #[test]
    fn given_a_cut_or_damaged_file_when_read_then_it_errs_or_rebuilds_and_never_panics() {
        // GIVEN a stored NFA
        let d = digest(PATTERNS);
        let bytes = encode(&compiled(), &d).expect("storable");
        // WHEN any prefix of it is read THEN it is refused
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], &d).is_err(), "prefix of {n} bytes");
        }
        // WHEN any byte after the digest is damaged THEN reading returns (no panic)
        let mut refused = 0;
        for i in MAGIC.len() + 32..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0xA5;
            refused += usize::from(decode(&damaged, &d).is_err());
        }
        assert!(refused > 0, "damage is noticed at least somewhere");
    }
}

//! [`structure`]: the encoder's first pass over JSON data. It checks the grammar and records, for
//! each container in the order they open, its element count (msgpack writes it before the
//! elements), where it ends, and whether it is an attachment placeholder.
//!
//! Invariants: iterative (each container links to its parent by index); one [`Container`] per
//! container of the input, so memory is bounded by the input length; placeholders are recognized as
//! by the JSON codec (`"_placeholder": true` and a `num` that is a non-negative integer, the last
//! of duplicate keys winning, escaped keys unescaped).

use super::MsgpackError;
use super::json_in::{Lexer, Tok, is_number, key_is, unescaped_len};

/// One container of the JSON data.
#[derive(Clone, Debug)]
pub(super) struct Container {
    /// Elements of an array, entries of an object.
    pub(super) count: usize,
    pub(super) array: bool,
    /// The byte offset just past the closing bracket.
    pub(super) end: usize,
    /// The index of the first container opened after this one closes (skipping its descendants).
    pub(super) next: usize,
    /// For an object with `"_placeholder": true`: its `num` as an index, `None` if it is not one.
    pub(super) placeholder: Option<Option<u64>>,
    parent: Option<usize>,
    state: State,
    key: Key,
    is_true: bool,
    num: Option<u64>,
}

/// Where a container's reading is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// After `[` or `{`: a value (or key), or the closing bracket.
    Open,
    /// After `,`: a value (or key).
    Comma,
    /// After a key: `:`.
    Key,
    /// After `:`: a value.
    Colon,
    /// After a value: `,` or the closing bracket.
    Value,
}

/// Which key of an object the next value belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Placeholder,
    Num,
    Other,
}

/// What a finished value means to a placeholder.
#[derive(Clone, Copy, Default)]
struct Info {
    is_true: bool,
    index: Option<u64>,
}

/// Checks `json` and describes its containers in `out` (cleared first).
pub(super) fn structure(json: &[u8], out: &mut Vec<Container>) -> Result<(), MsgpackError> {
    out.clear();
    let mut lexer = Lexer { json, pos: 0 };
    let mut cur: Option<usize> = None;
    let mut root_done = false;
    let bad = MsgpackError::InvalidJson;
    while let Some(tok) = lexer.next()? {
        let frame = match cur {
            Some(c) => Some(out.get_mut(c).ok_or(bad)?),
            None => None,
        };
        let state = frame.as_ref().map(|f| (f.array, f.state));
        let info = match (tok, state) {
            (Tok::Comma, Some((_, State::Value))) => {
                set_state(frame, State::Comma);
                continue;
            }
            (Tok::Colon, Some((false, State::Key))) => {
                set_state(frame, State::Colon);
                continue;
            }
            (Tok::Close(array), Some((is_array, State::Open | State::Value)))
                if array == is_array =>
            {
                let next = out.len();
                let c = cur.and_then(|c| out.get_mut(c)).ok_or(bad)?;
                c.end = lexer.pos;
                c.next = next;
                c.placeholder = (!c.array && c.is_true).then_some(c.num);
                cur = c.parent;
                Info::default()
            }
            (Tok::Str(lit), Some((false, State::Open | State::Comma))) => {
                unescaped_len(lit)?;
                if let Some(f) = frame {
                    f.count += 1;
                    f.state = State::Key;
                    f.key = if key_is(lit, b"_placeholder") {
                        Key::Placeholder
                    } else if key_is(lit, b"num") {
                        Key::Num
                    } else {
                        Key::Other
                    };
                }
                continue;
            }
            (Tok::Open(_) | Tok::Str(_) | Tok::Num(_) | Tok::Bool(_) | Tok::Null, state) => {
                match state {
                    None if !root_done => {}
                    Some((true, State::Open | State::Comma)) => {
                        if let Some(f) = frame {
                            f.count += 1;
                        }
                    }
                    Some((false, State::Colon)) => {}
                    _ => return Err(bad),
                }
                match tok {
                    Tok::Open(array) => {
                        out.push(Container {
                            count: 0,
                            array,
                            end: 0,
                            next: 0,
                            placeholder: None,
                            parent: cur,
                            state: State::Open,
                            key: Key::Other,
                            is_true: false,
                            num: None,
                        });
                        cur = Some(out.len() - 1);
                        continue;
                    }
                    Tok::Str(lit) => {
                        unescaped_len(lit)?;
                        Info::default()
                    }
                    Tok::Num(text) if is_number(text) => Info {
                        is_true: false,
                        index: integer_index(text),
                    },
                    Tok::Bool(b) => Info {
                        is_true: b,
                        index: None,
                    },
                    Tok::Null => Info::default(),
                    _ => return Err(bad),
                }
            }
            _ => return Err(bad),
        };
        // A value is complete: tell its container.
        match cur.and_then(|c| out.get_mut(c)) {
            None => root_done = true,
            Some(f) => {
                f.state = State::Value;
                match f.key {
                    Key::Placeholder if !f.array => f.is_true = info.is_true,
                    Key::Num if !f.array => f.num = info.index,
                    _ => {}
                }
            }
        }
    }
    match (cur, root_done) {
        (None, true) => Ok(()),
        _ => Err(bad),
    }
}

fn set_state(frame: Option<&mut Container>, state: State) {
    if let Some(f) = frame {
        f.state = state;
    }
}

/// The number as an index, if it is a non-negative integer the way JavaScript sees it (`2.0`,
/// `2e0` and `-0` count; `2.5` does not).
fn integer_index(text: &[u8]) -> Option<u64> {
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    // 2^64 as an f64; every integral f64 below it converts to u64 exactly.
    (value >= 0.0 && value.fract() == 0.0 && value < 18_446_744_073_709_551_616.0)
        .then_some(value as u64)
}

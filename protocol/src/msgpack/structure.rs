//! [`structure`]: the encoder's first pass over JSON data. It checks the grammar and records what
//! the second pass must know before it writes a container: its element count (msgpack writes it
//! before the elements) and, when asked, whether it is an attachment placeholder.
//!
//! Invariants:
//! - Iterative: the open containers are a stack of small frames, so no input can overflow the call
//!   stack.
//! - Compact, so memory stays a small multiple of the input length. Kept for the second pass: one
//!   `u32` count per container (a container takes at least 2 bytes of text: at most 2 bytes per
//!   input byte) and, only when asked, one [`Placeholder`] (32 bytes) per object with
//!   `"_placeholder": true` (at least 21 bytes of text). While reading: an 8-byte frame per open
//!   container, and 16 bytes more per open object for its `num` (an open array takes at least 2
//!   bytes of text, an open object at least 5, `{"":` and `}`): at most 6 bytes per input byte in
//!   all, for the deepest nesting.
//! - Each `Vec` but the placeholders' is allocated once, at the size a byte scan of the brackets
//!   finds (exact for valid JSON, so no doubling past the need), unless that is more than valid
//!   JSON of the input's length could need (the text is invalid, and is refused).
//! - At most `u32::MAX` elements per container and 2^32 containers (more is
//!   [`MsgpackError::TooLarge`]: msgpack cannot hold a longer array or map, and the text would be
//!   over 8 GB).
//! - Placeholders are recognized as by the JSON codec: `"_placeholder": true` and a `num` that is a
//!   non-negative integer, the last of duplicate keys winning, escaped keys unescaped.

use super::MsgpackError;
use super::json_in::{Lexer, Tok, is_number, key_is, unescaped_len};

/// The most bytes the counts and the frames take per byte of valid JSON (see the module docs).
const MAX_BYTES_PER_BYTE: usize = 6;

/// What the first pass learned about JSON data.
#[derive(Clone, Debug, Default)]
pub(super) struct Structure {
    /// The element count of each array (entry count of each object), in the order they open.
    pub(super) counts: Vec<u32>,
    /// The objects with `"_placeholder": true`, in the order they open; empty unless asked for.
    pub(super) placeholders: Vec<Placeholder>,
}

/// An object with `"_placeholder": true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Placeholder {
    /// Its index in [`Structure::counts`].
    pub(super) index: usize,
    /// The byte offset just past its closing brace.
    pub(super) end: usize,
    /// The index of the first container opened after it closes (skipping its descendants).
    pub(super) next: usize,
    /// Its `num` as an attachment index, `None` if that is not a non-negative integer.
    pub(super) num: Option<u64>,
}

/// One open container.
#[derive(Clone, Copy, Debug)]
struct Frame {
    /// Its index in [`Structure::counts`].
    index: u32,
    array: bool,
    state: State,
    /// An object's current key.
    key: Key,
    /// An object's last `_placeholder` value was `true`.
    is_true: bool,
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

/// Checks `json` and describes its containers; `placeholders` says whether to look for
/// placeholders too.
///
/// # Errors
/// [`MsgpackError::InvalidJson`] if `json` is not one JSON value, [`MsgpackError::TooLarge`] past
/// the limits of the [module docs](self).
pub(super) fn structure(json: &[u8], placeholders: bool) -> Result<Structure, MsgpackError> {
    // Allocated once, at the sizes a byte scan finds (exact for valid JSON), so no `Vec` doubles
    // past what it needs; unless those are more than valid JSON of this length can need (the
    // text is invalid): then the `Vec`s grow as the text is read, up to where it fails.
    let mut sizes = sizes(json);
    let reserved = sizes
        .containers
        .saturating_mul(size_of::<u32>())
        .saturating_add(sizes.depth.saturating_mul(size_of::<Frame>()))
        .saturating_add(sizes.object_depth.saturating_mul(size_of::<Option<u64>>()));
    if reserved > json.len().saturating_mul(MAX_BYTES_PER_BYTE) {
        sizes = Sizes::default();
    }
    let mut out = Structure {
        counts: Vec::with_capacity(sizes.containers),
        placeholders: Vec::new(),
    };
    let mut stack: Vec<Frame> = Vec::with_capacity(sizes.depth);
    // The `num` of each open object, innermost last.
    let mut nums: Vec<Option<u64>> = Vec::with_capacity(sizes.object_depth);
    let mut lexer = Lexer { json, pos: 0 };
    let mut root_done = false;
    let bad = MsgpackError::InvalidJson;
    while let Some(tok) = lexer.next()? {
        let state = stack.last().map(|f| (f.array, f.state));
        let info = match (tok, state) {
            (Tok::Comma, Some((_, State::Value))) => {
                set_state(&mut stack, State::Comma);
                continue;
            }
            (Tok::Colon, Some((false, State::Key))) => {
                set_state(&mut stack, State::Colon);
                continue;
            }
            (Tok::Close(array), Some((is_array, State::Open | State::Value)))
                if array == is_array =>
            {
                let f = stack.pop().ok_or(bad)?;
                if !array {
                    let num = nums.pop().ok_or(bad)?;
                    if placeholders && f.is_true {
                        out.placeholders.push(Placeholder {
                            index: to_usize(f.index)?,
                            end: lexer.pos,
                            next: out.counts.len(),
                            num,
                        });
                    }
                }
                Info::default()
            }
            (Tok::Str(lit), Some((false, State::Open | State::Comma))) => {
                unescaped_len(lit)?;
                let f = stack.last_mut().ok_or(bad)?;
                count_one(&mut out.counts, f.index)?;
                f.state = State::Key;
                f.key = if key_is(lit, b"_placeholder") {
                    Key::Placeholder
                } else if key_is(lit, b"num") {
                    Key::Num
                } else {
                    Key::Other
                };
                continue;
            }
            (Tok::Open(_) | Tok::Str(_) | Tok::Num(_) | Tok::Bool(_) | Tok::Null, state) => {
                match (state, stack.last()) {
                    (None, _) if !root_done => {}
                    (Some((true, State::Open | State::Comma)), Some(f)) => {
                        count_one(&mut out.counts, f.index)?;
                    }
                    (Some((false, State::Colon)), _) => {}
                    _ => return Err(bad),
                }
                match tok {
                    Tok::Open(array) => {
                        let index =
                            u32::try_from(out.counts.len()).map_err(|_| MsgpackError::TooLarge)?;
                        out.counts.push(0);
                        if !array {
                            nums.push(None);
                        }
                        stack.push(Frame {
                            index,
                            array,
                            state: State::Open,
                            key: Key::Other,
                            is_true: false,
                        });
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
        match stack.last_mut() {
            None => root_done = true,
            Some(f) => {
                f.state = State::Value;
                match f.key {
                    Key::Placeholder if !f.array => f.is_true = info.is_true,
                    Key::Num if !f.array => {
                        if let Some(num) = nums.last_mut() {
                            *num = info.index;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if !stack.is_empty() || !root_done {
        return Err(bad);
    }
    // Pushed as they close (a placeholder nested in another closes first); the encoder reads them
    // in the order they open. In place: no allocation.
    out.placeholders.sort_unstable_by_key(|p| p.index);
    Ok(out)
}

/// What [`sizes`] finds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Sizes {
    /// Containers.
    containers: usize,
    /// The most containers open at once.
    depth: usize,
    /// The most objects open at once.
    object_depth: usize,
}

/// Counts the brackets outside strings: for valid JSON, the sizes [`structure`] needs (for other
/// text, something no larger than its length).
fn sizes(json: &[u8]) -> Sizes {
    let mut sizes = Sizes::default();
    let (mut depth, mut objects) = (0usize, 0usize);
    let mut rest = json;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'"' => {
                // Past the closing quote (an escaped character is skipped with its backslash).
                loop {
                    let Some(at) = memchr::memchr2(b'"', b'\\', rest) else {
                        return sizes;
                    };
                    let quote = rest.get(at) == Some(&b'"');
                    rest = rest
                        .get(at + if quote { 1 } else { 2 }..)
                        .unwrap_or_default();
                    if quote {
                        break;
                    }
                }
            }
            b'[' | b'{' => {
                sizes.containers += 1;
                depth += 1;
                sizes.depth = sizes.depth.max(depth);
                if b == b'{' {
                    objects += 1;
                    sizes.object_depth = sizes.object_depth.max(objects);
                }
            }
            b']' => depth = depth.saturating_sub(1),
            b'}' => {
                depth = depth.saturating_sub(1);
                objects = objects.saturating_sub(1);
            }
            _ => {}
        }
    }
    sizes
}

fn set_state(stack: &mut [Frame], state: State) {
    if let Some(f) = stack.last_mut() {
        f.state = state;
    }
}

/// Counts one more element of the container at `index`.
fn count_one(counts: &mut [u32], index: u32) -> Result<(), MsgpackError> {
    let count = counts
        .get_mut(to_usize(index)?)
        .ok_or(MsgpackError::InvalidJson)?;
    *count = count.checked_add(1).ok_or(MsgpackError::TooLarge)?;
    Ok(())
}

fn to_usize(index: u32) -> Result<usize, MsgpackError> {
    usize::try_from(index).map_err(|_| MsgpackError::TooLarge)
}

/// The number as an index, if it is a non-negative integer the way JavaScript sees it (`2.0`,
/// `2e0` and `-0` count; `2.5` does not).
fn integer_index(text: &[u8]) -> Option<u64> {
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    // 2^64 as an f64; every integral f64 below it converts to u64 exactly.
    (value >= 0.0 && value.fract() == 0.0 && value < 18_446_744_073_709_551_616.0)
        .then_some(value as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_brackets_outside_strings() {
        let sizes = |json: &str| {
            let s = super::sizes(json.as_bytes());
            (s.containers, s.depth, s.object_depth)
        };
        assert_eq!(sizes(r#"[{"a":[1,"[{\"]{"]},{},[]]"#), (5, 3, 1));
        assert_eq!(sizes(r#"{"":{"":{}}}"#), (3, 3, 3));
        assert_eq!(sizes(r#""\\"[]"#), (1, 1, 0));
        // Unterminated strings and escapes, unbalanced brackets: no panic.
        assert_eq!(sizes(r#"[["\"#), (2, 2, 0));
        assert_eq!(sizes(r#"]]}["#), (1, 1, 0));
    }

    #[test]
    fn counts_exactly_reserved() {
        let json = br#"[{"a":[1,"[{"]},{"_placeholder":true,"num":0},[]]"#;
        let s = structure(json, true).unwrap();
        assert_eq!(s.counts, [3, 1, 2, 2, 0]);
        assert_eq!(s.counts.capacity(), 5);
        assert_eq!(
            s.placeholders,
            [Placeholder {
                index: 3,
                end: 45,
                next: 4,
                num: Some(0),
            }]
        );
        assert!(structure(json, false).unwrap().placeholders.is_empty());
        // Invalid text whose scan asks for more than valid JSON could: refused, nothing reserved.
        assert_eq!(
            structure(&[b'{'; 1000], false).unwrap_err(),
            MsgpackError::InvalidJson
        );
        assert_eq!(
            structure(b"[[]", false).unwrap_err(),
            MsgpackError::InvalidJson
        );
    }
}

//! Reading an event's name and arguments out of the raw JSON data, without copying it.
//!
//! Invariant: every [`Utf8Bytes`] returned is a [`Bytes::slice`] of the packet's `data` (found by the
//! offset of the `&str` serde_json borrowed from it), so reading arguments copies no JSON text; the
//! only allocation is the returned `Vec` (and, for [`Packet::event_name`], an event name written
//! with escapes).

use std::borrow::Cow;

use bytes::Bytes;
use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::decode::{first_token, skip_ws, unescape};
use super::{DecodeError, Packet};
use crate::engine_io::Utf8Bytes;

impl Packet {
    /// The event name of an EVENT or BINARY_EVENT: the first element of its data array, unescaped.
    ///
    /// Borrowed unless the name is written with escapes. A numeric name (which Node accepts) is
    /// given as written (`1`, or `1.0`, where JavaScript would say `"1"`). A lone surrogate escape
    /// becomes U+FFFD. `None` for other packet types, and for data that is not an event array.
    #[must_use]
    pub fn event_name(&self) -> Option<Cow<'_, str>> {
        if !self.packet_type.is_event() {
            return None;
        }
        let rest = skip_ws(self.data.as_ref()?.as_bytes()).strip_prefix(b"[")?;
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<&RawValue>();
        let name = stream.next()?.ok()?.get();
        match first_token(name.as_bytes())? {
            b'"' => Some(match unescape(name)? {
                Cow::Borrowed(bytes) => Cow::Borrowed(std::str::from_utf8(bytes).ok()?),
                Cow::Owned(bytes) => Cow::Owned(wtf8_lossy(&bytes)),
            }),
            b'-' | b'0'..=b'9' => Some(Cow::Borrowed(name)),
            _ => None,
        }
    }

    /// The arguments, each the raw JSON text of one element of the data array (a slice of `data`,
    /// not a copy): the elements after the event name for EVENT and BINARY_EVENT, all of them for ACK
    /// and BINARY_ACK. Attachment placeholders are left as they are (see
    /// [`is_placeholder`](super::is_placeholder)).
    ///
    /// # Errors
    /// [`DecodeError::InvalidPayload`] for other packet types or data that is not an array (or an
    /// event array without a name); [`DecodeError::InvalidJson`] for data that is not JSON. A decoded
    /// event or ack never fails.
    pub fn args(&self) -> Result<Vec<Utf8Bytes>, DecodeError> {
        let invalid = DecodeError::InvalidPayload(self.packet_type);
        let skip = match self.packet_type {
            t if t.is_event() => 1,
            t if t.is_ack() => 0,
            _ => return Err(invalid),
        };
        let data = self.data.as_ref().ok_or(invalid)?;
        if first_token(data.as_bytes()) != Some(b'[') {
            return Err(invalid);
        }
        let mut de = serde_json::Deserializer::from_slice(data.as_bytes());
        let args = de
            .deserialize_seq(ArgsVisitor { data, skip })
            .and_then(|args| de.end().map(|()| args))
            .map_err(|_| DecodeError::InvalidJson)?;
        args.ok_or(invalid)
    }
}

/// `bytes` (UTF-8, except that lone surrogates are in their 3-byte WTF-8 form, as serde_json
/// unescapes them) with each lone surrogate replaced by one U+FFFD.
fn wtf8_lossy(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&b, tail)) = rest.split_first() {
        match (b, tail.first()) {
            // ED A0..BF xx encodes U+D800..U+DFFF.
            (0xed, Some(0xa0..=0xbf)) => {
                out.extend_from_slice("\u{fffd}".as_bytes());
                rest = tail.get(2..).unwrap_or_default();
            }
            _ => {
                out.push(b);
                rest = tail;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Collects the elements of an array as slices of `data`, after skipping `skip` of them. Gives
/// `None` if the array has fewer than `skip` elements.
struct ArgsVisitor<'a> {
    data: &'a Utf8Bytes,
    skip: usize,
}

impl<'de> Visitor<'de> for ArgsVisitor<'_> {
    type Value = Option<Vec<Utf8Bytes>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut args = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut seen = 0;
        while let Some(raw) = seq.next_element::<&RawValue>()? {
            seen += 1;
            if seen > self.skip {
                args.push(sub_slice(self.data, raw.get()));
            }
        }
        Ok((seen >= self.skip).then_some(args))
    }
}

/// The slice of `whole` that `part` (a `str` borrowed from `whole`'s bytes) covers. A `part` from
/// elsewhere (impossible) gives an empty text rather than a panic.
fn sub_slice(whole: &Utf8Bytes, part: &str) -> Utf8Bytes {
    let base = whole.as_bytes().as_ptr() as usize;
    let start = (part.as_ptr() as usize).wrapping_sub(base);
    match start.checked_add(part.len()) {
        Some(end) if end <= whole.len() => {
            Utf8Bytes::from_validated(Bytes::from(whole.clone()).slice(start..end))
        }
        _ => Utf8Bytes::default(),
    }
}

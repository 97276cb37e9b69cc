//! Reading an event's name and arguments out of the raw JSON data, without copying it.
//!
//! Invariants:
//! - A decoded packet's elements are taken from its [`DataIndex`](super::DataIndex): the decoder
//!   found them while checking the data, which is not read again.
//! - Otherwise both read the data with [`scan`], the decoder's own validator: [`Packet::args`]
//!   reads it all (so hand-built data gets the decoder's verdict on syntax and depth),
//!   [`Packet::event_name`] only as far as the `,` or `]` after the first element.
//! - Every [`Utf8Bytes`] returned is a [`Bytes::slice`] of the packet's `data` (cut next to ASCII
//!   bytes, so it stays UTF-8), so reading arguments copies no JSON text. Nothing is allocated for
//!   up to two arguments ([`RawArgs`]); more take one allocation, as does an event name written
//!   with escapes.

use std::borrow::Cow;
use std::ops::{ControlFlow, Range};

use smallvec::SmallVec;

use super::json_scan::{scan, unescape};
use super::{DecodeError, Packet};
use crate::engine_io::Utf8Bytes;

/// The arguments of an event or ack, each the raw JSON text of one element: inline up to two (the
/// common case, and what the bench contract's events carry), on the heap beyond.
pub type RawArgs = SmallVec<[Utf8Bytes; 2]>;

impl Packet {
    /// The event name of an EVENT or BINARY_EVENT: the first element of its data array, unescaped.
    ///
    /// Borrowed unless the name is written with escapes. A numeric name (which Node accepts) is
    /// given as written (`1`, or `1.0`, where JavaScript would say `"1"`). A lone surrogate escape
    /// becomes U+FFFD. `None` for other packet types, and for data that is not an event array. The
    /// data is read only up to the end of the first element.
    #[must_use]
    pub fn event_name(&self) -> Option<Cow<'_, str>> {
        if !self.packet_type.is_event() {
            return None;
        }
        let data = self.data.as_ref()?;
        let first = match self.index.elements_of(data) {
            Some(mut elements) => elements.next(),
            None => {
                // Only an array's elements are reported.

                let mut first = None;
                scan(data, |element| {
                    first = Some(element);
                    ControlFlow::Break(())
                })
                .ok()?;
                first
            }
        };
        let name = data.as_str().get(first?)?;
        match name.as_bytes().first()? {
            b'"' => Some(unescape(name)),
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
    /// event array without a name); [`DecodeError::InvalidJson`] for data that is not JSON, or is
    /// nested deeper than [`MAX_DEPTH`](super::MAX_DEPTH). A decoded event or ack never fails.
    pub fn args(&self) -> Result<RawArgs, DecodeError> {
        let invalid = DecodeError::InvalidPayload(self.packet_type);
        let skip = match self.packet_type {
            t if t.is_event() => 1,
            t if t.is_ack() => 0,
            _ => return Err(invalid),
        };
        let data = self.data.as_ref().ok_or(invalid)?;
        let indexed = self.index.elements_of(data);
        // An index is only made for an array; anything else is checked here.
        if indexed.is_none() && data.trim_start_matches(JSON_WS).as_bytes().first() != Some(&b'[') {
            return Err(invalid);
        }
        // Sized once when the decoder counted the elements.
        let capacity = indexed.as_ref().map_or(0, |e| e.len().saturating_sub(skip));
        let mut args = RawArgs::with_capacity(capacity);
        let mut seen = 0;
        let mut on_element = |element: Range<usize>| {
            // The ranges are in bounds and on char boundaries; `slice` checks both.
            if seen >= skip
                && let Some(arg) = data.slice(element)
            {
                args.push(arg);
            }
            seen += 1;
            ControlFlow::Continue(())
        };
        match indexed {
            Some(elements) => elements.for_each(|element| {
                let _ = on_element(element);
            }),
            None => scan(data, on_element).map_err(|_| DecodeError::InvalidJson)?,
        }
        if seen < skip {
            return Err(invalid);
        }
        Ok(args)
    }
}

/// JSON's whitespace characters.
const JSON_WS: [char; 4] = [' ', '\t', '\n', '\r'];

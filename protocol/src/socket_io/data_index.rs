//! [`DataIndex`]: where the elements of a packet's data array are, as the decoder found them, so that
//! [`Packet::args`](super::Packet::args) and [`Packet::event_name`](super::Packet::event_name) do not
//! read the data a second time.
//!
//! Invariants:
//! - An index is used only for the very text it was made from: it keeps a clone of that text's
//!   buffer (so the buffer cannot be freed and its address reused) and is consulted only when the
//!   packet's `data` starts at the same address and has the same length. Anything else (a packet
//!   built by hand, `data` replaced or cut) falls back to scanning, so a stale index is never read.
//! - Only an array is indexed: a packet whose index is used has data that is a JSON array.
//! - It is a cache, not part of the packet: every index equals every other, so a decoded packet
//!   still equals the same packet built by hand.
//! - It allocates nothing: at most [`INDEXED`] elements are kept; data with more is not indexed.

use std::fmt;
use std::ops::Range;

use crate::engine_io::Utf8Bytes;

/// The most elements an index keeps (an event's name and three arguments).
const INDEXED: usize = 4;

/// The byte ranges of the elements of a packet's top-level data array, found while decoding it.
/// `DataIndex::default()` knows nothing, and is what a packet built by hand carries.
#[derive(Clone, Default)]
pub struct DataIndex {
    /// The text indexed, and its elements; `None` when nothing is known.
    known: Option<(Utf8Bytes, Elements)>,
}

/// The elements of an array, noted one by one while it is scanned: up to [`INDEXED`] ranges,
/// `(start, end)` in bytes.
#[derive(Clone, Copy, Default)]
pub(super) struct Elements {
    ranges: [(u32, u32); INDEXED],
    len: u8,
    /// More than [`INDEXED`] elements, or one past `u32::MAX`: not indexable.
    overflow: bool,
}

impl Elements {
    /// Notes the next element.
    pub(super) fn push(&mut self, range: Range<usize>) {
        let slot = self.ranges.get_mut(usize::from(self.len));
        match (slot, u32::try_from(range.start), u32::try_from(range.end)) {
            (Some(slot), Ok(start), Ok(end)) => {
                *slot = (start, end);
                self.len += 1;
            }
            _ => self.overflow = true,
        }
    }
}

impl DataIndex {
    /// The index of `data`, a JSON array whose elements are `elements` (nothing is known when they
    /// overflowed).
    pub(super) fn new(data: &Utf8Bytes, elements: Elements) -> DataIndex {
        DataIndex {
            known: (!elements.overflow).then(|| (data.clone(), elements)),
        }
    }

    /// The element ranges of `data`, if this is its index.
    pub(super) fn elements_of(
        &self,
        data: &Utf8Bytes,
    ) -> Option<impl ExactSizeIterator<Item = Range<usize>> + '_> {
        let (indexed, elements) = self.known.as_ref()?;
        let same =
            indexed.as_str().as_ptr() == data.as_str().as_ptr() && indexed.len() == data.len();
        let ranges = elements.ranges.get(..usize::from(elements.len))?;
        same.then(|| {
            ranges
                .iter()
                .map(|&(start, end)| start as usize..end as usize)
        })
    }
}

impl PartialEq for DataIndex {
    /// Always `true`: an index is a cache, not part of the packet's value.
    fn eq(&self, _: &DataIndex) -> bool {
        true
    }
}

impl Eq for DataIndex {}

impl fmt::Debug for DataIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.known {
            Some((_, elements)) => write!(f, "DataIndex({} elements)", elements.len),
            None => f.write_str("DataIndex(none)"),
        }
    }
}

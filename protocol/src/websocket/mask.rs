//! Masking (RFC 6455 5.3: byte `i` of a client's payload is XORed with `mask[i % 4]`), and the
//! buffer a whole message is unmasked into.
//!
//! Invariants:
//! - Unmasking is one copy of the payload, then the mask XORed over the copy in place, eight bytes
//!   at a time (a loop the compiler vectorizes).
//! - [`unmasked_bytes`] makes one allocation per message. A `Bytes` made from a `Vec` allocates its
//!   refcount the first time it is shared, which every message read is (its packet's fields are
//!   slices of it); a message of up to [`INLINE_MAX`] bytes is instead unmasked into a buffer of its
//!   size class, allocated with that refcount. A message the application keeps pins at most its
//!   size class (twice its length, at worst, plus the refcount's few words), never a read buffer.

use bytes::Bytes;

/// The longest message unmasked into a buffer of its size class; longer ones go into a `Vec`.
pub(super) const INLINE_MAX: usize = 512;

/// `masked`, unmasked, in a new `Vec`.
pub(super) fn unmask(masked: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(masked.len());
    unmask_into(&mut out, masked, mask);
    out
}

/// Appends `masked` to `out`, unmasked.
pub(super) fn unmask_into(out: &mut Vec<u8>, masked: &[u8], mask: [u8; 4]) {
    let start = out.len();
    out.extend_from_slice(masked);
    mask_in_place(&mut out[start..], mask);
}

/// `masked`, unmasked, as `Bytes` in one allocation (see the module docs).
pub(super) fn unmasked_bytes(masked: &[u8], mask: [u8; 4]) -> Bytes {
    match masked.len() {
        0 => Bytes::new(),
        1..=64 => inline::<64>(masked, mask),
        65..=128 => inline::<128>(masked, mask),
        129..=256 => inline::<256>(masked, mask),
        257..=INLINE_MAX => inline::<INLINE_MAX>(masked, mask),
        _ => Bytes::from(unmask(masked, mask)),
    }
}

/// A message of up to `N` bytes, stored inline: the owner of its `Bytes`.
struct Inline<const N: usize> {
    len: usize,
    bytes: [u8; N],
}

impl<const N: usize> AsRef<[u8]> for Inline<N> {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// `masked` (at most `N` bytes), unmasked into an [`Inline`] that `Bytes` owns.
fn inline<const N: usize>(masked: &[u8], mask: [u8; 4]) -> Bytes {
    let mut owner = Inline {
        len: masked.len(),
        bytes: [0; N],
    };
    let payload = &mut owner.bytes[..masked.len()];
    payload.copy_from_slice(masked);
    mask_in_place(payload, mask);
    Bytes::from_owner(owner)
}

/// Masks (or unmasks: the same XOR) a whole payload in place, eight bytes at a time: what a client
/// does to the frames it sends, and a server to those it receives.
pub fn mask_in_place(payload: &mut [u8], mask: [u8; 4]) {
    let [a, b, c, d] = mask;
    let word = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut chunks = payload.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let value = u64::from_ne_bytes((&*chunk).try_into().expect("8 bytes")) ^ word;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    // The rest starts at a multiple of 8, so with the mask's first byte.
    for (byte, m) in chunks.into_remainder().iter_mut().zip(mask.iter().cycle()) {
        *byte ^= m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A payload of `len` bytes and its masked form, by RFC 6455's definition.
    fn payload_and_masked(len: usize) -> (Vec<u8>, Vec<u8>) {
        let payload: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(73)).collect();
        let masked = (payload.iter().enumerate())
            .map(|(i, byte)| byte ^ MASK[i % 4])
            .collect();
        (payload, masked)
    }

    #[test]
    fn unmasking_matches_its_definition() {
        // Whatever the length, and appended after bytes already there (a message split into
        // frames).
        for len in 0..40 {
            let (payload, masked) = payload_and_masked(len);
            let mut out = b"kept".to_vec();
            unmask_into(&mut out, &masked, MASK);
            assert_eq!(out[..4], *b"kept");
            assert_eq!(out[4..], payload, "length {len}");
        }
    }

    #[test]
    fn unmasked_bytes_hold_the_payload_in_every_size_class() {
        // Every length up to and past the largest inline class, the edges of each class included.
        for len in 0..=INLINE_MAX + 70 {
            let (payload, masked) = payload_and_masked(len);
            let bytes = unmasked_bytes(&masked, MASK);
            assert_eq!(bytes, payload, "length {len}");
            // Shared and sliced as any `Bytes`, and still the payload once the original is gone.
            let tail = bytes.slice(len / 2..);
            drop(bytes);
            assert_eq!(tail, payload[len / 2..], "length {len}");
        }
    }
}

//! Unsigned integers in decimal, written straight into a buffer sized for them: packet encoders
//! and the load generator write ids and timestamps on every message, where `core::fmt` (its
//! `write`, the integer `Display`, `pad_integral`) costs several times as much.
//!
//! Invariant: [`write()`] writes exactly [`len`] bytes; given a buffer of another length it writes
//! what fits (and fails debug builds), never panics.

/// "00" to "99": two digits per division.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// The number of decimal digits of `n` (1 for 0).
#[inline]
pub fn len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// Writes `n` in decimal into `digits`, which must be [`len(n)`](len) bytes long, from its end.
#[inline]
pub fn write(digits: &mut [u8], mut n: u64) {
    debug_assert_eq!(
        digits.len(),
        len(n),
        "decimal::write: a buffer of the wrong length"
    );
    let mut end = digits.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        put(digits, end.saturating_sub(2), &PAIRS[pair..pair + 2]);
        end = end.saturating_sub(2);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        put(digits, end.saturating_sub(2), &PAIRS[pair..pair + 2]);
    } else {
        put(digits, end.saturating_sub(1), &[b'0' + n as u8]);
    }
}

/// `bytes` at `at` in `digits`, if they fit.
#[inline(always)]
fn put(digits: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(slot) = digits.get_mut(at..at + bytes.len()) {
        slot.copy_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_is_written_as_display_writes_it() {
        let mut samples = vec![0, 9, 10, 99, 100, 101, 999, 1000, u64::MAX];
        samples.extend((0..20).map(|power| 10u64.pow(power)));
        samples.extend((1..20).map(|power| 10u64.pow(power) - 1));
        // And a spread of values of every length.
        let mut n = 1u64;
        for _ in 0..2000 {
            samples.push(n);
            n = n
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407)
                >> (n % 64);
        }
        for n in samples {
            let text = n.to_string();
            assert_eq!(len(n), text.len(), "{n}");
            let mut digits = vec![b'x'; len(n)];
            write(&mut digits, n);
            assert_eq!(digits, text.as_bytes(), "{n}");
        }
    }
}

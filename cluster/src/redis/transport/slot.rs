//! Redis Cluster hash slots: CRC16 (XMODEM) of the key, or of its hash tag, modulo 16384.
//!
//! A hash tag is the part between the first `{` and the first `}` after it, when that part is
//! not empty; the whole key is hashed otherwise. Sharded channels are routed like keys.

/// The number of hash slots of a Redis Cluster.
pub(crate) const SLOTS: usize = 16_384;

/// The hash slot of `key` (a key or a sharded channel name), in `0..SLOTS`.
pub(crate) fn slot(key: &[u8]) -> u16 {
    // The mask keeps the value below SLOTS (a power of two).
    crc16(hash_tag(key).unwrap_or(key)) & (SLOTS as u16 - 1)
}

/// The non-empty text between the first `{` and the next `}`, if any.
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let rest = &key[open + 1..];
    let close = rest.iter().position(|&b| b == b'}')?;
    let tag = &rest[..close];
    (!tag.is_empty()).then_some(tag)
}

/// CRC16-CCITT, XMODEM variant (polynomial 0x1021, initial value 0), as Redis uses it.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_check_value() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
    }

    #[test]
    fn known_slots() {
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"bar"), 5061);
        assert_eq!(slot(b""), 0);
    }

    #[test]
    fn hash_tags() {
        assert_eq!(slot(b"{user1000}.following"), slot(b"user1000"));
        assert_eq!(slot(b"foo{bar}{zap}"), slot(b"bar"));
        assert_eq!(slot(b"foo{{bar}}zap"), slot(b"{bar"));
        // An empty tag means no tag: the whole key is hashed.
        assert_eq!(slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") & 16383);
        assert_eq!(slot(b"a}b{"), crc16(b"a}b{") & 16383);
    }
}

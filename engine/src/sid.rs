//! Session ids: 15 random bytes from the operating system's CSPRNG-seeded generator, as 20 URL-safe
//! base64 characters (like Node's `base64id`, which also draws 15 bytes).

use std::sync::Arc;

use base64::Engine as _;
use rand::RngCore;

/// A new unguessable, URL-safe session id.
pub(crate) fn generate() -> Arc<str> {
    let mut bytes = [0u8; 15];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bytes)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_url_safe_and_distinct() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }
}

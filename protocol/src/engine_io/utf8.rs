//! [`Utf8Bytes`]: a cheaply clonable, reference-counted slice of bytes known to be UTF-8.
//!
//! Invariant: the inner [`Bytes`] is always valid UTF-8. Every constructor either starts from a `str`
//! (`From<String>`, `From<&'static str>`, [`Utf8Bytes::from_static`]) or validates
//! ([`TryFrom<Bytes>`](Utf8Bytes#impl-TryFrom<Bytes>-for-Utf8Bytes)), and nothing hands out a mutable
//! view of the bytes.
//!
//! Every constructor validates (or, crate-internally, is handed bytes already validated), so
//! [`Utf8Bytes::as_str`] is O(1): it is the one place in the workspace allowed to use `unsafe`, to skip
//! re-validation. [`Utf8Bytes::as_bytes`], [`Utf8Bytes::len`] and cloning are O(1) too.

use std::fmt;
use std::ops::{Deref, Range};

use bytes::Bytes;

use super::DecodeError;

/// UTF-8 validated bytes: a `str` that shares its buffer like [`Bytes`] does.
///
/// Like tungstenite's `Utf8Bytes`. Decoding a packet gives one of these as a sub-slice of the input
/// buffer, without copying.
#[derive(Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wraps a static string without copying or allocating.
    #[must_use]
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps bytes the caller has already checked to be UTF-8.
    ///
    /// Not `unsafe` (the workspace forbids it): a wrong call cannot cause undefined behaviour, only a
    /// debug assertion failure, or in release builds an empty [`Utf8Bytes::as_str`].
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Self(bytes)
    }

    /// The text, as a `str` (O(1)).
    #[must_use]
    #[allow(unsafe_code)]
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor of `Utf8Bytes` checks that the bytes are UTF-8 (`from_validated`
        // is crate-private and only receives slices of validated text cut at char boundaries, which
        // its debug assertion checks), and the bytes are never mutated afterwards.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The UTF-8 bytes of the text.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text in `range`, sharing this buffer (no copy); `None` if `range` is out of bounds or
    /// does not fall on char boundaries.
    #[must_use]
    pub fn slice(&self, range: Range<usize>) -> Option<Utf8Bytes> {
        self.as_str().get(range.clone())?;
        Some(Self(self.0.slice(range)))
    }

    /// The underlying shared buffer.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes (not characters).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = DecodeError;

    /// Validates `bytes` as UTF-8 and keeps the same buffer (no copy).
    fn try_from(bytes: Bytes) -> Result<Self, DecodeError> {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Ok(Self(bytes)),
            Err(_) => Err(DecodeError::InvalidUtf8),
        }
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<&'static str> for Utf8Bytes {
    fn from(s: &'static str) -> Self {
        Self::from_static(s)
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(s: Utf8Bytes) -> Self {
        s.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::Utf8Bytes;
    use crate::engine_io::DecodeError;

    #[test]
    fn constructors_agree() {
        const S: Utf8Bytes = Utf8Bytes::from_static("héllo");
        assert_eq!(S, Utf8Bytes::from("héllo"));
        assert_eq!(S, Utf8Bytes::from(String::from("héllo")));
        assert_eq!(
            S,
            Utf8Bytes::try_from(Bytes::from_static("héllo".as_bytes())).unwrap()
        );
        assert_eq!(S.as_str(), "héllo");
        assert_eq!(&*S, "héllo");
        assert_eq!(S.len(), 6);
        assert!(!S.is_empty());
        assert!(Utf8Bytes::default().is_empty());
        assert_eq!(S, "héllo");
        assert_eq!(format!("{S}"), "héllo");
        assert_eq!(format!("{S:?}"), "\"héllo\"");
        assert_eq!(S.as_bytes(), "héllo".as_bytes());
        assert_eq!(S.slice(1..3).unwrap(), "é");
        assert_eq!(S.slice(1..2), None, "inside a char");
        assert_eq!(S.slice(6..7), None, "out of bounds");
        assert_eq!(Bytes::from(S.clone()), S.into_bytes());
    }

    #[test]
    fn rejects_invalid_utf8() {
        for bad in [&b"\xff"[..], b"abc\xc3", b"\xed\xa0\x80", b"\xc0\xaf"] {
            assert_eq!(
                Utf8Bytes::try_from(Bytes::copy_from_slice(bad)),
                Err(DecodeError::InvalidUtf8)
            );
        }
    }

    #[test]
    fn try_from_keeps_the_buffer() {
        let input = Bytes::from(String::from("shared buffer"));
        let text = Utf8Bytes::try_from(input.clone()).unwrap();
        assert_eq!(text.as_bytes().as_ptr(), input.as_ptr());
    }
}

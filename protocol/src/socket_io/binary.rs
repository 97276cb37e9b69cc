//! Attachment reassembly: a binary packet's text announces `N` attachments, which arrive as the next
//! `N` Engine.IO binary messages. [`PartialPacket`] collects them for one packet; [`Reassembly`] is
//! the per-connection state that routes every incoming message.
//!
//! Invariants:
//! - A [`PartialPacket`] holds at most the announced count of attachments, a count already checked
//!   against [`DecodeLimits::max_attachments`] (its `Vec` is allocated once, with that capacity).
//!   Once it has returned its packet it is spent: it holds nothing and ignores further attachments.
//! - Its placeholders were checked against the announced count when the text was decoded, so the
//!   finished packet needs no further check.
//! - [`Reassembly`] waits for at most one packet at a time, as Node's decoder does; any error leaves
//!   it empty (ready for a new packet), though the caller should close the connection, as Node does.

use bytes::Bytes;

use super::{DecodeError, DecodeLimits, Packet};

/// A binary packet whose attachments are still arriving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialPacket {
    /// The packet, its `attachments` filling up; `None` once returned.
    packet: Option<Packet>,
    /// How many attachments the packet announced.
    expected: usize,
}

impl PartialPacket {
    /// Waits for `expected` attachments to `packet` (whose `attachments` must be empty).
    pub(crate) fn new(mut packet: Packet, expected: usize) -> PartialPacket {
        packet.attachments = Vec::with_capacity(expected);
        PartialPacket {
            packet: Some(packet),
            expected,
        }
    }

    /// The packet so far: its header and data, and the attachments received yet. `None` once
    /// [`PartialPacket::push_attachment`] has returned it.
    #[must_use]
    pub fn packet(&self) -> Option<&Packet> {
        self.packet.as_ref()
    }

    /// How many attachments the packet announced.
    #[must_use]
    pub fn expected(&self) -> usize {
        self.expected
    }

    /// How many attachments are still to come (0 once the packet was returned).
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.packet
            .as_ref()
            .map_or(0, |p| self.expected.saturating_sub(p.attachments.len()))
    }

    /// Adds the next attachment; returns the whole packet once the last one has arrived, and `None`
    /// before that (or when the packet was already returned, in which case `bytes` is dropped).
    pub fn push_attachment(&mut self, bytes: Bytes) -> Option<Packet> {
        let packet = self.packet.as_mut()?;
        packet.attachments.push(bytes);
        if packet.attachments.len() >= self.expected {
            self.packet.take()
        } else {
            None
        }
    }
}

/// Per-connection decoding state: turns the stream of Engine.IO messages (text packets and binary
/// attachments) into whole Socket.IO packets.
///
/// ```
/// use bytes::Bytes;
/// use oxio_protocol::socket_io::{DecodeLimits, PacketType, Reassembly};
///
/// let mut decoder = Reassembly::new(DecodeLimits::default());
/// let text = r#"51-["upload",{"_placeholder":true,"num":0}]"#;
/// assert_eq!(decoder.push_text(text.into())?, None);
/// let packet = decoder.push_binary(Bytes::from_static(&[1, 2, 3]))?.expect("complete");
/// assert_eq!(packet.packet_type, PacketType::BinaryEvent);
/// assert_eq!(packet.attachments, [Bytes::from_static(&[1, 2, 3])]);
/// # Ok::<(), oxio_protocol::socket_io::DecodeError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Reassembly {
    limits: DecodeLimits,
    pending: Option<PartialPacket>,
}

impl Reassembly {
    /// A decoder with no packet pending.
    #[must_use]
    pub fn new(limits: DecodeLimits) -> Reassembly {
        Reassembly {
            limits,
            pending: None,
        }
    }

    /// The limits this decoder applies.
    #[must_use]
    pub fn limits(&self) -> &DecodeLimits {
        &self.limits
    }

    /// The binary packet waiting for attachments, if any.
    #[must_use]
    pub fn pending(&self) -> Option<&PartialPacket> {
        self.pending.as_ref()
    }

    /// Decodes a text message: the whole packet, or `None` for a binary packet whose attachments
    /// come next.
    ///
    /// # Errors
    /// [`DecodeError::AttachmentsPending`] if a binary packet is still waiting for attachments (it is
    /// dropped), or whatever [`Packet::decode_text`] returns.
    pub fn push_text(
        &mut self,
        text: crate::engine_io::Utf8Bytes,
    ) -> Result<Option<Packet>, DecodeError> {
        // Not `take()`: that would move the whole (mostly empty) slot out to look at it.
        if self.pending.is_some() {
            self.pending = None;
            return Err(DecodeError::AttachmentsPending);
        }
        match Packet::decode_parts(text, &self.limits)? {
            (packet, 0) => Ok(Some(packet)),
            (packet, attachments) => {
                self.pending = Some(PartialPacket::new(packet, attachments));
                Ok(None)
            }
        }
    }

    /// Takes a binary message as the next attachment: the whole packet once it was the last one.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedAttachment`] if no binary packet is waiting.
    pub fn push_binary(&mut self, bytes: Bytes) -> Result<Option<Packet>, DecodeError> {
        let partial = self
            .pending
            .as_mut()
            .ok_or(DecodeError::UnexpectedAttachment)?;
        let packet = partial.push_attachment(bytes);
        if packet.is_some() {
            self.pending = None;
        }
        Ok(packet)
    }

    /// Drops any pending packet (Node's `destroy`).
    pub fn reset(&mut self) {
        self.pending = None;
    }
}

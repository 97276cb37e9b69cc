//! The transport's errors.

use std::fmt;

#[cfg(doc)]
use super::{Transport, TransportConfig};

/// Why a transport operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// A URL of the target could not be parsed (the text says why).
    InvalidUrl(String),
    /// There is no connection to Redis at the moment.
    Disconnected,
    /// The transport has been closed.
    Closed,
    /// Redis answered with an error, or the connection failed while waiting for the reply.
    Redis(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::InvalidUrl(why) => write!(f, "invalid Redis URL: {why}"),
            TransportError::Disconnected => f.write_str("not connected to Redis"),
            TransportError::Closed => f.write_str("the Redis transport is closed"),
            TransportError::Redis(why) => write!(f, "Redis error: {why}"),
        }
    }
}

impl std::error::Error for TransportError {}

/// Why [`Transport::publish`] did not queue a message. The message is dropped either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishError {
    /// There is no connection to Redis at the moment.
    Disconnected,
    /// The publish queue is full ([`TransportConfig::publish_queue`]).
    QueueFull,
    /// The transport has been closed.
    Closed,
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PublishError::Disconnected => "not connected to Redis",
            PublishError::QueueFull => "the Redis publish queue is full",
            PublishError::Closed => "the Redis transport is closed",
        })
    }
}

impl std::error::Error for PublishError {}

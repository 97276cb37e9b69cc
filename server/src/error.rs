//! Errors the server API returns, with Node's messages where Node has one.

use std::fmt;

/// Why an emit did not go out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmitError {
    /// An argument could not be serialized to JSON.
    Serialize(String),
    /// The socket is disconnected.
    Disconnected,
    /// The client's outgoing queue is full; the client was disconnected as too slow.
    SlowClient,
    /// The event name is reserved (`connect`, `connect_error`, `disconnect`, `disconnecting`,
    /// `newListener`, `removeListener`).
    ReservedEvent(String),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Serialize(error) => write!(f, "cannot serialize an argument: {error}"),
            EmitError::Disconnected => f.write_str("socket has been disconnected"),
            EmitError::SlowClient => f.write_str("the client's outgoing queue is full"),
            EmitError::ReservedEvent(name) => write!(f, "\"{name}\" is a reserved event name"),
        }
    }
}

impl std::error::Error for EmitError {}

/// Why an emit with ack got no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckError {
    /// No answer within the timeout (Node: "operation has timed out").
    Timeout,
    /// The socket disconnected before answering (Node: "socket has been disconnected").
    Disconnected,
    /// The emit itself failed.
    Emit(EmitError),
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckError::Timeout => f.write_str("operation has timed out"),
            AckError::Disconnected => f.write_str("socket has been disconnected"),
            AckError::Emit(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for AckError {}

impl From<EmitError> for AckError {
    fn from(error: EmitError) -> AckError {
        AckError::Emit(error)
    }
}

/// A refusal from a connect middleware; the client gets `connect_error` with this message and data.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectError {
    /// The error message (`err.message` on the client).
    pub message: String,
    /// Extra data (`err.data` on the client).
    pub data: Option<serde_json::Value>,
}

impl ConnectError {
    /// An error with a message and no data.
    pub fn new(message: impl Into<String>) -> ConnectError {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds data.
    pub fn with_data(mut self, data: serde_json::Value) -> ConnectError {
        self.data = Some(data);
        self
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

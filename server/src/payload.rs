//! Event arguments, both ways: [`Payload`] for what a client sent, [`Args`] for what the server emits.
//!
//! Arguments stay raw JSON text (one slice of the received packet per argument; no JSON tree is
//! built unless a handler asks for a typed value), plus the binary attachments in order. A binary
//! argument is the placeholder `{"_placeholder":true,"num":N}` in the JSON and `attachments[N]`.

use bytes::Bytes;
use oxio_protocol::engine_io::Utf8Bytes;
use oxio_protocol::socket_io::{RawArgs, is_placeholder};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The arguments of an event or ack received from a client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payload {
    args: RawArgs,
    attachments: Vec<Bytes>,
}

impl Payload {
    pub(crate) fn new(args: RawArgs, attachments: Vec<Bytes>) -> Payload {
        Payload { args, attachments }
    }

    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// Argument `index` as raw JSON text (a binary argument is its placeholder object).
    pub fn raw(&self, index: usize) -> Option<&str> {
        self.args.get(index).map(Utf8Bytes::as_str)
    }

    pub(crate) fn raw_arg(&self, index: usize) -> Option<&Utf8Bytes> {
        self.args.get(index)
    }

    /// Argument `index` deserialized as a `T`.
    pub fn get<T: DeserializeOwned>(&self, index: usize) -> Result<T, serde_json::Error> {
        let raw = self.raw(index).unwrap_or("null");
        serde_json::from_str(raw)
    }

    /// Argument `index` as binary, when it is an attachment placeholder.
    pub fn binary(&self, index: usize) -> Option<&Bytes> {
        let num = is_placeholder(self.raw(index)?)?;
        self.attachments.get(num)
    }

    /// Every argument as a JSON value (placeholders stay objects).
    pub fn to_values(&self) -> Vec<serde_json::Value> {
        self.args
            .iter()
            .map(|raw| serde_json::from_str(raw.as_str()).unwrap_or(serde_json::Value::Null))
            .collect()
    }

    /// The binary attachments, in order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// The same arguments, to emit them again (no copy: the JSON and the attachments are shared).
    pub fn to_args(&self) -> Args {
        self.args_from(0)
    }

    /// Arguments `start..`, to emit them again without the first ones (`room(R, data)` forwarding
    /// `data`). No copy; every attachment is kept, so placeholders anywhere in the kept arguments
    /// still point at their bytes.
    pub fn args_from(&self, start: usize) -> Args {
        Args {
            raw: self.args.get(start..).unwrap_or_default().into(),
            attachments: self.attachments.clone(),
            error: None,
        }
    }
}

/// Arguments to emit. Build with [`Args::new`] and [`Args::arg`] / [`Args::binary`], or take them
/// from a [`Payload`] with [`Payload::to_args`].
///
/// ```
/// use oxio_server::Args;
/// let args = Args::new().arg(&1).arg("two").binary(bytes::Bytes::from_static(b"\x01\x02"));
/// assert_eq!(args.len(), 3);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Args {
    raw: RawArgs,
    attachments: Vec<Bytes>,
    /// The first serialization error; emitting reports it.
    error: Option<String>,
}

impl Args {
    /// No arguments.
    pub fn new() -> Args {
        Args::default()
    }

    /// One argument, serialized as JSON.
    pub fn one<T: Serialize + ?Sized>(value: &T) -> Args {
        Args::new().arg(value)
    }

    /// Appends an argument, serialized as JSON. A serialization error is kept and reported by the
    /// emit that uses these arguments.
    pub fn arg<T: Serialize + ?Sized>(mut self, value: &T) -> Args {
        match serde_json::to_string(value) {
            Ok(json) => self.raw.push(Utf8Bytes::from(json)),
            Err(error) => {
                self.error.get_or_insert(error.to_string());
            }
        }
        self
    }

    /// Appends a binary argument (sent as an attachment).
    pub fn binary(mut self, bytes: Bytes) -> Args {
        let num = self.attachments.len();
        self.raw.push(Utf8Bytes::from(format!(
            "{{\"_placeholder\":true,\"num\":{num}}}"
        )));
        self.attachments.push(bytes);
        self
    }

    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub(crate) fn raw(&self) -> &[Utf8Bytes] {
        &self.raw
    }

    pub(crate) fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

impl From<Payload> for Args {
    fn from(payload: Payload) -> Args {
        Args {
            raw: payload.args,
            attachments: payload.attachments,
            error: None,
        }
    }
}

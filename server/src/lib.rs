//! The Socket.IO v5 server API (namespaces, sockets, events, acks, rooms, broadcast, middleware).
//!
//! Nothing is implemented here yet: this crate is where the Socket.IO layer on top of `oxio-engine` goes.

//! Key names and node-set members of the bookkeeping. Pure string building, no I/O.
//!
//! Invariants:
//! - every key starts with `{key}#`, so one prefix holds all of it;
//! - in the separated layout a socket key has `#s#` and a room key `#r#` right after the
//!   namespace name, so a room named like a socket id is a different key than that socket's set;
//! - a node-set member is `{nsp}\0{sid}`, split at the last NUL (socket ids never contain one).

use super::KeyLayout;

/// Builds the keys of one key prefix and layout.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: String,
    layout: KeyLayout,
}

impl Keys {
    pub(super) fn new(prefix: &str, layout: KeyLayout) -> Self {
        Self {
            prefix: prefix.to_owned(),
            layout,
        }
    }

    /// True when `nsp` uses the fork's literal keys.
    fn fork_literal(&self, nsp: &str) -> bool {
        self.layout == KeyLayout::ForkCompatible && normalize(nsp) == "/"
    }

    /// The SET of the rooms of socket `sid` (its own id included when it joined it).
    pub(super) fn socket(&self, nsp: &str, sid: &str) -> String {
        if self.fork_literal(nsp) {
            format!("{}#{sid}", self.prefix)
        } else {
            format!("{}#{}#s#{sid}", self.prefix, normalize(nsp))
        }
    }

    /// The SET of the socket ids in `room`.
    pub(super) fn room(&self, nsp: &str, room: &str) -> String {
        if self.fork_literal(nsp) {
            format!("{}#{room}", self.prefix)
        } else {
            format!("{}#{}#r#{room}", self.prefix, normalize(nsp))
        }
    }

    /// The SET of the ids of every node that registered.
    pub(super) fn nodes(&self) -> String {
        format!("{}#nodes", self.prefix)
    }

    /// The SET of the members (see [`member`]) of the sockets node `id` owns.
    pub(super) fn node(&self, id: &str) -> String {
        format!("{}#node#{id}", self.prefix)
    }

    /// The string key with a TTL that says node `id` is alive.
    pub(super) fn alive(&self, id: &str) -> String {
        format!("{}#alive#{id}", self.prefix)
    }

    /// The short-lived lock a sweeper holds while it cleans up after node `id`.
    pub(super) fn sweep_lock(&self, id: &str) -> String {
        format!("{}#sweep#{id}", self.prefix)
    }
}

/// A namespace name as it appears in keys: with its leading slash.
fn normalize(nsp: &str) -> std::borrow::Cow<'_, str> {
    if nsp.starts_with('/') {
        nsp.into()
    } else {
        format!("/{nsp}").into()
    }
}

/// The node-set member of socket `sid` of namespace `nsp`.
pub(super) fn member(nsp: &str, sid: &str) -> String {
    let mut m = String::with_capacity(nsp.len() + 1 + sid.len());
    m.push_str(nsp);
    m.push('\0');
    m.push_str(sid);
    m
}

/// The namespace and socket id of a node-set member; `None` when it is not one.
pub(super) fn parse_member(member: &str) -> Option<(&str, &str)> {
    member.rsplit_once('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_keys_keep_kinds_and_namespaces_apart() {
        let k = Keys::new("socket.io", KeyLayout::Separated);
        assert_eq!(k.socket("/", "abc"), "socket.io#/#s#abc");
        assert_eq!(k.room("/", "abc"), "socket.io#/#r#abc");
        assert_eq!(k.room("/chat", "lobby"), "socket.io#/chat#r#lobby");
        assert_eq!(k.room("chat", "lobby"), "socket.io#/chat#r#lobby");
        assert_eq!(k.node("n1"), "socket.io#node#n1");
    }

    #[test]
    fn fork_layout_is_literal_for_the_main_namespace_only() {
        let k = Keys::new("socket.io", KeyLayout::ForkCompatible);
        assert_eq!(k.socket("/", "abc"), "socket.io#abc");
        assert_eq!(k.room("/", "lobby"), "socket.io#lobby");
        assert_eq!(k.room("", "lobby"), "socket.io#lobby");
        assert_eq!(k.room("/chat", "lobby"), "socket.io#/chat#r#lobby");
    }

    #[test]
    fn members_round_trip() {
        let m = member("/a\0b", "sid");
        assert_eq!(parse_member(&m), Some(("/a\0b", "sid")));
        assert_eq!(parse_member("garbage"), None);
    }
}

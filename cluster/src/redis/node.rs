//! [`RedisCluster`]: one process's membership of a Redis cluster. It owns the Redis connections
//! (one [`Transport`] for pub/sub, one connection for the bookkeeping when it is on), gives each
//! namespace its link (classic or sharded), and routes every incoming message to the link whose
//! channels it belongs to.
//!
//! Invariants:
//! - One link per namespace name; attaching a name twice gives the same link (Redis counts one
//!   subscription per channel, and `PUBSUB NUMSUB` is how Node counts servers).
//! - Messages are handled on the transport's receiving task, in arrival order; a message that
//!   belongs to no link is dropped.

use std::sync::{Arc, Weak};

use parking_lot::RwLock;

use super::bookkeeping::{Bookkeeping, RedisConnection};
use super::classic::ClassicLink;
use super::options::{AdapterMode, RedisAdapterOptions};
use super::sharded::ShardedLink;
use super::transport::{IncomingMessage, RedisTarget, Transport, TransportError};
use crate::remote::{BoxFuture, Cluster, ClusterLink, LocalNamespace};

/// What the node asks of each link.
pub(crate) trait Link: ClusterLink {
    /// Handles `message` if it is on one of this link's channels; returns whether it was.
    fn handle(&self, message: &IncomingMessage) -> bool;
    /// The namespace name.
    fn namespace(&self) -> &str;
}

/// What every link of a node shares.
pub(crate) struct NodeShared {
    pub(crate) transport: Arc<Transport>,
    pub(crate) options: RedisAdapterOptions,
    pub(crate) bookkeeping: Option<Arc<Bookkeeping>>,
}

impl NodeShared {
    /// Follows a local socket joining a room into the bookkeeping, when it is on.
    pub(crate) fn joined(&self, nsp: &str, socket: &str, room: &str) {
        if let Some(bookkeeping) = &self.bookkeeping {
            bookkeeping.joined(nsp, socket, room);
        }
    }

    /// Follows a local socket leaving a room into the bookkeeping, when it is on.
    pub(crate) fn left(&self, nsp: &str, socket: &str, room: &str) {
        if let Some(bookkeeping) = &self.bookkeeping {
            bookkeeping.left(nsp, socket, room);
        }
    }

    /// Follows a local socket's disconnection into the bookkeeping, when it is on.
    pub(crate) fn removed(&self, nsp: &str, socket: &str) {
        if let Some(bookkeeping) = &self.bookkeeping {
            bookkeeping.removed(nsp, socket);
        }
    }
}

/// A server's membership of a Redis cluster; hand it to the server's configuration
/// (`IoConfig::cluster`).
pub struct RedisCluster {
    shared: Arc<NodeShared>,
    links: Arc<RwLock<Vec<Arc<dyn Link>>>>,
}

impl std::fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCluster")
            .field("target", &self.shared.options.target)
            .field("mode", &self.shared.options.mode)
            .finish_non_exhaustive()
    }
}

impl RedisCluster {
    /// Connects to Redis with `options`. Returns once the first connection is up, or at once
    /// with [`TransportError::InvalidUrl`]; if Redis cannot be reached yet, it keeps trying in
    /// the background and this waits at most `connect_timeout` before returning anyway (local
    /// delivery works meanwhile).
    ///
    /// # Errors
    /// [`TransportError::InvalidUrl`] for a URL that does not parse.
    pub async fn connect(
        options: RedisAdapterOptions,
        connect_timeout: std::time::Duration,
    ) -> Result<Arc<RedisCluster>, TransportError> {
        let links: Arc<RwLock<Vec<Arc<dyn Link>>>> = Arc::default();
        let routing = Arc::downgrade(&links);
        let transport = Transport::connect(
            options.target.clone(),
            Arc::new(move |message: IncomingMessage| route(&routing, &message)),
        )?;
        if !transport.wait_connected(connect_timeout).await {
            tracing::warn!(target = ?options.target, "Redis is not reachable yet; delivering locally until it is");
        }
        let bookkeeping = match &options.bookkeeping {
            Some(config) => {
                let connection = match &options.target {
                    RedisTarget::Single(url) => RedisConnection::from_url(url).await,
                    RedisTarget::Cluster(urls) => RedisConnection::from_cluster_urls(urls).await,
                };
                match connection {
                    Ok(connection) => Some(
                        Bookkeeping::start(connection, super::pending::hex_id(), config.clone())
                            .await,
                    ),
                    Err(error) => {
                        tracing::warn!(%error, "Redis bookkeeping is off: no connection");
                        None
                    }
                }
            }
            None => None,
        };
        Ok(Arc::new(RedisCluster {
            shared: Arc::new(NodeShared {
                transport,
                options,
                bookkeeping,
            }),
            links,
        }))
    }

    /// The Redis SET bookkeeping, when it is on.
    pub fn bookkeeping(&self) -> Option<&Arc<Bookkeeping>> {
        self.shared.bookkeeping.as_ref()
    }

    /// The options it was made with.
    pub fn options(&self) -> &RedisAdapterOptions {
        &self.shared.options
    }

    /// The pub/sub connections.
    pub fn transport(&self) -> &Arc<Transport> {
        &self.shared.transport
    }
}

/// Hands `message` to the first link it belongs to.
fn route(links: &Weak<RwLock<Vec<Arc<dyn Link>>>>, message: &IncomingMessage) {
    let Some(links) = links.upgrade() else {
        return;
    };
    // A snapshot: handlers run user code (server-side events), which may attach a namespace.
    let links = links.read().clone();
    if !links.iter().any(|link| link.handle(message)) {
        tracing::trace!(channel = ?message.channel, "message on no namespace's channel");
    }
}

impl Cluster for RedisCluster {
    fn attach(&self, name: &str, local: Weak<dyn LocalNamespace>) -> Arc<dyn ClusterLink> {
        let mut links = self.links.write();
        if let Some(link) = links.iter().find(|link| link.namespace() == name) {
            return link.clone();
        }
        let link: Arc<dyn Link> = match self.shared.options.mode {
            AdapterMode::Classic { .. } => ClassicLink::start(self.shared.clone(), name, local),
            AdapterMode::Sharded { .. } => ShardedLink::start(self.shared.clone(), name, local),
        };
        links.push(link.clone());
        link
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let links: Vec<Arc<dyn Link>> = std::mem::take(&mut *self.links.write());
        let shared = self.shared.clone();
        Box::pin(async move {
            for link in links {
                link.close().await;
            }
            if let Some(bookkeeping) = &shared.bookkeeping
                && let Err(error) = bookkeeping.shutdown().await
            {
                tracing::warn!(%error, "Redis bookkeeping not cleaned up");
            }
            shared.transport.close().await;
        })
    }
}

//! The supervisor task: owns the wanted subscriptions and the session lifecycle.
//!
//! Invariants:
//!
//! - Only this task changes the wanted set and sends (un)subscribe commands, one command at a
//!   time and in the order callers issued them, so the set and the servers' state never disagree
//!   by more than the command in flight.
//! - A session is published (for publishing, NUMSUB and `is_connected`) only after every wanted
//!   subscription has been re-sent on it and confirmed, and is withdrawn as soon as it dies.
//! - While disconnected it still serves commands (they update the wanted set and answer
//!   `Disconnected`), so no caller ever waits for Redis to come back.
//! - Reconnection attempts back off exponentially from `min_backoff` to `max_backoff`; each
//!   failure is logged once.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::join_all;
use redis::{ConnectionInfo, RedisError, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{MissedTickBehavior, interval, sleep};

use super::session::{self, Endpoints, Incoming, Session, Wanted, is_fatal};
use super::{SubscriptionKind, TransportConfig, TransportError};

/// How many (un)subscribe commands are in flight at once while resubscribing.
const RESUBSCRIBE_BATCH: usize = 256;

/// A request to the supervisor.
pub(super) enum Command {
    /// Want a subscription; answered once Redis confirmed it (or could not).
    Subscribe {
        kind: SubscriptionKind,
        channel: Bytes,
        done: oneshot::Sender<Result<(), TransportError>>,
    },
    /// Drop a subscription; answered once Redis confirmed it (or could not).
    Unsubscribe {
        kind: SubscriptionKind,
        channel: Bytes,
        done: oneshot::Sender<Result<(), TransportError>>,
    },
    /// Unsubscribe everything and stop.
    Close { done: oneshot::Sender<()> },
}

/// The state of the supervisor task.
pub(super) struct Supervisor {
    pub(super) name: String,
    pub(super) endpoints: Endpoints,
    pub(super) config: TransportConfig,
    pub(super) commands: mpsc::UnboundedReceiver<Command>,
    pub(super) session: watch::Sender<Option<Arc<Session>>>,
    pub(super) messages: Incoming,
    pub(super) wanted: Wanted,
    pub(super) known: Vec<ConnectionInfo>,
}

/// How a connection attempt ended.
enum Attempt {
    Connected(Arc<Session>),
    Failed(RedisError),
    Closed,
}

impl Supervisor {
    /// Connects, serves, reconnects, until closed or dropped.
    pub(super) async fn run(mut self) {
        let mut delay = self.config.min_backoff;
        loop {
            match self.attempt().await {
                Attempt::Closed => return,
                Attempt::Failed(error) => {
                    tracing::warn!(
                        redis = %self.name, %error, retry_in = ?delay,
                        "cannot connect to Redis"
                    );
                    if !self.wait_offline(delay).await {
                        return;
                    }
                    delay = (delay * 2).min(self.config.max_backoff);
                }
                Attempt::Connected(session) => {
                    delay = self.config.min_backoff;
                    tracing::info!(redis = %self.name, nodes = session.len(), "connected to Redis");
                    self.session.send_replace(Some(session.clone()));
                    let closed = self.serve(&session).await;
                    self.session.send_replace(None);
                    if closed {
                        return;
                    }
                    tracing::warn!(redis = %self.name, "lost the Redis connection, reconnecting");
                }
            }
        }
    }

    /// Builds a session and re-sends every wanted subscription on it, serving commands offline
    /// while the connections are being opened.
    async fn attempt(&mut self) -> Attempt {
        let connecting = session::connect(
            &self.endpoints,
            &mut self.known,
            &self.config,
            &self.messages,
            &self.wanted,
        );
        tokio::pin!(connecting);
        let result = loop {
            tokio::select! {
                result = &mut connecting => break result,
                command = self.commands.recv() => {
                    if !serve_offline(&self.wanted, command) {
                        return Attempt::Closed;
                    }
                }
            }
        };
        let session = match result {
            Ok(session) => Arc::new(session),
            Err(error) => return Attempt::Failed(error),
        };
        let wanted: Vec<_> = self.wanted.lock().iter().cloned().collect();
        for batch in wanted.chunks(RESUBSCRIBE_BATCH) {
            let sent = batch
                .iter()
                .map(|(kind, channel)| send(&session, *kind, channel, true));
            for (result, (kind, channel)) in join_all(sent).await.into_iter().zip(batch) {
                match result {
                    Err(error) if is_fatal(&error) => return Attempt::Failed(error),
                    Err(error) => tracing::warn!(
                        redis = %self.name, ?kind, channel = %String::from_utf8_lossy(channel),
                        %error, "Redis refused a subscription"
                    ),
                    Ok(()) => {}
                }
            }
        }
        Attempt::Connected(session)
    }

    /// Sleeps `delay` while serving commands offline; `false` when closed meanwhile.
    async fn wait_offline(&mut self, delay: std::time::Duration) -> bool {
        let pause = sleep(delay);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                () = &mut pause => return true,
                command = self.commands.recv() => {
                    if !serve_offline(&self.wanted, command) {
                        return false;
                    }
                }
            }
        }
    }

    /// Serves commands on a live session until it dies (`false`) or the transport closes
    /// (`true`). Pings every node every `health_check` so that silent failures are noticed.
    async fn serve(&mut self, session: &Session) -> bool {
        let mut ticker = interval(self.config.health_check);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                biased;
                () = session.died() => return false,
                command = self.commands.recv() => match command {
                    None => return true,
                    Some(Command::Close { done }) => {
                        self.unsubscribe_all(session).await;
                        let _ = done.send(());
                        return true;
                    }
                    Some(Command::Subscribe { kind, channel, done }) => {
                        self.wanted.lock().insert((kind, channel.clone()));
                        let result = send(session, kind, &channel, true).await;
                        let _ = done.send(result.map_err(|e| TransportError::Redis(e.to_string())));
                    }
                    Some(Command::Unsubscribe { kind, channel, done }) => {
                        let removed = self.wanted.lock().remove(&(kind, channel.clone()));
                        let result = if removed {
                            send(session, kind, &channel, false).await
                        } else {
                            Ok(())
                        };
                        let _ = done.send(result.map_err(|e| TransportError::Redis(e.to_string())));
                    }
                },
                _ = ticker.tick() => {
                    let pings = session.all().map(|mut conn| async move {
                        redis::cmd("PING").query_async::<Value>(&mut conn).await
                    });
                    for result in join_all(pings).await {
                        if let Err(error) = result {
                            session.check(&error);
                        }
                    }
                }
            }
        }
    }

    /// Unsubscribes everything wanted (best effort: errors are ignored, the connections are
    /// about to be dropped anyway) and forgets it.
    async fn unsubscribe_all(&mut self, session: &Session) {
        let wanted: Vec<_> = self.wanted.lock().drain().collect();
        for batch in wanted.chunks(RESUBSCRIBE_BATCH) {
            let sent = batch
                .iter()
                .map(|(kind, channel)| send(session, *kind, channel, false));
            join_all(sent).await;
        }
    }
}

/// Applies a command while there is no connection; `false` when the transport is closing.
fn serve_offline(wanted: &Wanted, command: Option<Command>) -> bool {
    match command {
        None => false,
        Some(Command::Close { done }) => {
            wanted.lock().clear();
            let _ = done.send(());
            false
        }
        Some(Command::Subscribe {
            kind,
            channel,
            done,
        }) => {
            wanted.lock().insert((kind, channel));
            let _ = done.send(Err(TransportError::Disconnected));
            true
        }
        Some(Command::Unsubscribe {
            kind,
            channel,
            done,
        }) => {
            wanted.lock().remove(&(kind, channel));
            let _ = done.send(Ok(()));
            true
        }
    }
}

/// Sends one (un)subscribe command for one channel to the node that carries it and waits for
/// the confirmation. A fatal error kills the session.
async fn send(
    session: &Session,
    kind: SubscriptionKind,
    channel: &[u8],
    subscribe: bool,
) -> Result<(), RedisError> {
    let name = match (kind, subscribe) {
        (SubscriptionKind::Channel, true) => "SUBSCRIBE",
        (SubscriptionKind::Pattern, true) => "PSUBSCRIBE",
        (SubscriptionKind::Shard, true) => "SSUBSCRIBE",
        (SubscriptionKind::Channel, false) => "UNSUBSCRIBE",
        (SubscriptionKind::Pattern, false) => "PUNSUBSCRIBE",
        (SubscriptionKind::Shard, false) => "SUNSUBSCRIBE",
    };
    let mut conn = session.conn(session.node_for(kind, channel));
    // One channel per command: the server answers with exactly one confirmation, which the
    // connection takes as the command's reply.
    let result = redis::cmd(name)
        .arg(channel)
        .query_async::<Value>(&mut conn)
        .await;
    if let Err(error) = &result {
        session.check(error);
    }
    result.map(drop)
}

//! 1000 polling handshakes that are never continued: every session must time out ("ping timeout"),
//! leave the session table and the timer heap, and a second round must not grow the process.
//!
//! This is its own test binary so that no other test allocates in the process while RSS is measured.

mod support;

use std::time::Duration;

use oxio_engine::{CloseReason, EngineConfig};
use support::{Event, TestServer, assert_no_panics, polling_handshake, rss_bytes};
use tokio::task::JoinSet;

const HANDSHAKES: usize = 1000;
const CONCURRENCY: usize = 50;

/// Opens `HANDSHAKES` polling sessions and never touches them again.
async fn handshake_round(server: &TestServer) {
    let addr = server.addr;
    let mut tasks = JoinSet::new();
    for _ in 0..CONCURRENCY {
        tasks.spawn(async move {
            for _ in 0..HANDSHAKES / CONCURRENCY {
                polling_handshake(addr).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("handshake task");
    }
}

/// Waits until every session of the round timed out and the engine forgot it.
async fn drain(server: &TestServer, round: usize) {
    let total = HANDSHAKES * round;
    server
        .recorder
        .wait_until(
            "every session to time out",
            Duration::from_secs(10),
            |events| {
                events
                    .iter()
                    .filter(|e| matches!(e, Event::Close { .. }))
                    .count()
                    >= total
            },
        )
        .await;
    server.wait_no_sessions(Duration::from_secs(5)).await;
    // Stale timer entries expire within one ping interval or timeout.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while server.engine.timer_count() != 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.engine.timer_count(), 0, "timer entries left");

    let opens = server.recorder.opens();
    let closes = server.recorder.closes();
    assert_eq!(opens.len(), total);
    assert_eq!(closes.len(), total);
    assert!(
        closes
            .iter()
            .all(|(_, reason)| *reason == CloseReason::PingTimeout),
        "unexpected close reasons: {:?}",
        closes
            .iter()
            .filter(|(_, r)| *r != CloseReason::PingTimeout)
            .take(5)
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_without_follow_up_are_forgotten() {
    let config = EngineConfig::default()
        .ping_interval(Duration::from_millis(200))
        .ping_timeout(Duration::from_millis(200));
    let server = TestServer::start(config).await;

    handshake_round(&server).await;
    drain(&server, 1).await;
    let after_first = rss_bytes();

    handshake_round(&server).await;
    drain(&server, 2).await;
    let after_second = rss_bytes();

    // Generous on purpose: allocators keep freed memory for reuse and the recorder keeps its
    // events, so only a real leak (kilobytes per session: megabytes per round) should trip this.
    let growth = after_second.saturating_sub(after_first);
    eprintln!("RSS after round 1: {after_first} bytes, after round 2: {after_second} bytes");
    assert!(
        growth < 8 * 1024 * 1024,
        "RSS grew by {growth} bytes over the second round of {HANDSHAKES} sessions \
         ({after_first} -> {after_second})"
    );
    assert_no_panics();
}

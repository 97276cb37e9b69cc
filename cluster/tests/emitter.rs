//! The Rust emitter publishes through a real Redis (single server and cluster connection kinds share
//! the message building, which the unit tests check byte for byte): what a subscriber receives is
//! exactly what the emitter built.

use std::sync::Arc;
use std::time::Duration;

use oxio_cluster::redis::emitter::{Emitter, EmitterOptions};
use oxio_cluster::redis::transport::{IncomingMessage, RedisTarget, SubscriptionKind, Transport};
use oxio_test_support::redis::RedisServer;
use serde_json::json;

#[tokio::test]
async fn the_emitter_publishes_what_it_builds() {
    let redis = RedisServer::start();
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel::<IncomingMessage>();
    let on_message = Arc::new(move |message| {
        let _ = sender.send(message);
    });
    let subscriber = Transport::connect(RedisTarget::Single(redis.url()), on_message).unwrap();
    assert!(subscriber.wait_connected(Duration::from_secs(20)).await);
    subscriber
        .subscribe(SubscriptionKind::Pattern, "socket.io#/#*")
        .await
        .unwrap();
    subscriber
        .subscribe(SubscriptionKind::Channel, "socket.io-request#/#")
        .await
        .unwrap();

    let client = redis::Client::open(redis.url()).unwrap();
    let connection = redis::aio::ConnectionManager::new(client).await.unwrap();
    let emitter = Emitter::new(connection, EmitterOptions::default());

    let to_room = emitter.to("room1").except("room2");
    let args = [json!("world"), json!({ "n": 1 })];
    to_room.emit("hello", &args).await.unwrap();
    emitter.sockets_join("lobby").await.unwrap();

    for expected in [
        to_room.emit_message("hello", &args).unwrap(),
        emitter.sockets_join_message("lobby").unwrap(),
    ] {
        let message = tokio::time::timeout(Duration::from_secs(10), received.recv())
            .await
            .expect("a message within 10 s")
            .expect("the subscriber is alive");
        assert_eq!(message.channel, expected.channel.as_bytes());
        assert_eq!(message.payload, expected.payload);
    }
    subscriber.close().await;
}

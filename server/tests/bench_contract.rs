//! The bench contract (`shared/bench-contract.md`) as the `bench_server` example implements it,
//! driven by socket.io-client: the example's handlers run in process on a free port.

#[path = "../examples/bench_server/contract.rs"]
mod contract;

mod bench_support;

use oxio_server::{Io, IoConfig};

/// A server with the contract's handlers on a free port; its URL.
async fn start() -> (Io, String) {
    let io = Io::new(IoConfig::default());
    contract::install(&io);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let server = io.clone();
    tokio::spawn(async move { server.serve(listener).await });
    (io, url)
}

/// Runs one case of `tests/node/bench_contract.mjs`; returns the checks it passed.
async fn run_case(case: &str) -> Vec<String> {
    let (io, url) = start().await;
    let run = bench_support::run_node("bench_contract", &[&url, case]).await;
    io.shutdown().await;
    run.checks()
}

#[tokio::test]
async fn echo_with_ack_answers_with_the_data() {
    let checks = run_case("echo-ack").await;
    assert_eq!(
        checks,
        [
            "echo with ack answers with the data",
            "binary echo with ack",
            "no echo event when there is an ack"
        ]
    );
}

#[tokio::test]
async fn echo_with_ack_works_over_polling() {
    assert_eq!(
        run_case("echo-ack-polling").await,
        ["echo with ack over polling"]
    );
}

#[tokio::test]
async fn echo_without_ack_emits_echo_back() {
    assert_eq!(
        run_case("echo-no-ack").await,
        [
            "echo without ack emits echo back",
            "binary echo without ack"
        ]
    );
}

#[tokio::test]
async fn bcast_reaches_every_socket_including_the_sender() {
    assert_eq!(
        run_case("bcast").await,
        [
            "bcast reaches every socket, the sender included, once",
            "binary bcast"
        ]
    );
}

#[tokio::test]
async fn room_reaches_only_its_members() {
    assert_eq!(
        run_case("room").await,
        [
            "room reaches only the members of the room (auth room joined on connect)",
            "binary room emit",
            "room reaches the sender when it is a member"
        ]
    );
}

#[tokio::test]
async fn join_joins_then_acks() {
    assert_eq!(
        run_case("join").await,
        [
            "join acks with no argument",
            "after join, room reaches the joined socket"
        ]
    );
}

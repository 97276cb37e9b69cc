//! What the bench contract and `oxio` binary tests share: running the Node scripts of
//! `tests/node/` with socket.io-client from the repository's `node_modules`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The repository root, where `package.json` and `node_modules` are.
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Starts `node tests/node/<script>.mjs <args>`, stdout piped. Fails (never skips) when
/// socket.io-client is not installed.
pub(crate) fn spawn_node(script: &str, args: &[&str]) -> tokio::process::Child {
    let root = repo_root();
    let client = root.join("node_modules/socket.io-client/package.json");
    assert!(
        client.exists(),
        "socket.io-client is not installed ({} is missing): run `npm ci` in {}",
        client.display(),
        root.display()
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/node/{script}.mjs"));
    tokio::process::Command::new("node")
        .arg(&path)
        .args(args)
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` (is Node 20 installed?): {e}"))
}

/// What a Node script did.
#[derive(Debug)]
pub(crate) struct NodeRun {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    /// The JSON objects it printed, one a line.
    pub(crate) events: Vec<Value>,
}

impl NodeRun {
    /// Asserts that the script succeeded and returns the names of the checks it passed.
    #[track_caller]
    pub(crate) fn checks(&self) -> Vec<String> {
        assert!(
            self.status.success()
                && self.events.last() == Some(&serde_json::json!({"event": "done"})),
            "node script failed ({}), stdout:\n{}",
            self.status,
            self.stdout
        );
        self.events
            .iter()
            .filter_map(|event| event.get("check")?.as_str().map(str::to_owned))
            .collect()
    }
}

/// Waits for a script to exit (they time out on their own after 10 s; this is a backstop).
pub(crate) async fn wait_node(child: tokio::process::Child) -> NodeRun {
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the node script did not exit within 30 s")
        .expect("node output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let events = stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("the script printed a non-JSON line ({e}): {line}"))
        })
        .collect();
    NodeRun {
        status: output.status,
        stdout,
        events,
    }
}

/// Runs `node tests/node/<script>.mjs <args>` to its end.
pub(crate) async fn run_node(script: &str, args: &[&str]) -> NodeRun {
    wait_node(spawn_node(script, args)).await
}

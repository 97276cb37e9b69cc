// The `oxio` binary's relay seen by socket.io-client, one case per run:
//   node oxio_bin.mjs <server url> <case>
// Prints one JSON object per line ({"check": ...} per passed check); exits non-zero on failure.
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const [url, scenario] = process.argv.slice(2);
const out = (event) => process.stdout.write(JSON.stringify(event) + "\n");
const fail = (error) => {
  out({ event: "fail", message: String(error?.stack ?? error) });
  process.exit(1);
};
process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);
if (scenario !== "wait-disconnect") setTimeout(() => fail(`${scenario}: timed out after 10 s`), 10_000);

const sockets = [];

/** A new client (its own connection) on namespace `nsp`. */
function connect(nsp = "/", options = {}) {
  const socket = io(url + nsp, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    ...options,
  });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

/** Records every event `socket` receives from now on, as [event, ...args]. */
function record(socket) {
  const seen = [];
  socket.onAny((...args) => seen.push(args));
  return seen;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `done()` holds (fails after `ms`), then `settle` ms more, for late extra deliveries. */
async function until(done, what, ms = 5000, settle = 200) {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(10);
  }
  await sleep(settle);
}
const check = (name) => out({ check: name });
const ack = (socket, ...args) => socket.timeout(3000).emitWithAck(...args);
const binary = Buffer.from([0, 1, 2, 255]);

const cases = {
  async relay() {
    const [a, b, c] = await Promise.all([connect(), connect(), connect()]);
    const other = await connect("/other");
    const seen = [a, b, c, other].map(record);
    a.emit("hello", { x: 1 }, "two", binary);
    await until(() => seen[1].length > 0 && seen[2].length > 0, "the relayed event");
    for (const i of [1, 2]) {
      assert.deepEqual(seen[i], [["hello", { x: 1 }, "two", binary]], `client ${i}`);
    }
    assert.deepEqual(seen[0], [], "the sender");
    assert.deepEqual(seen[3], [], "a client of another namespace");
    check("an event reaches every other socket of the namespace, binary included");
  },

  async rooms() {
    const [a, b, c] = await Promise.all([connect(), connect(), connect()]);
    const seen = [a, b, c].map(record);
    assert.equal(await ack(b, "join", "r"), undefined);
    check("join acks with no argument");
    assert.equal(await ack(a, "to", "r", "ev", 1, { y: 2 }), undefined);
    await until(() => seen[1].length > 0, "ev on the member");
    assert.deepEqual(seen[1], [["ev", 1, { y: 2 }]], "the member");
    assert.deepEqual(seen[2], [], "a socket outside the room");
    assert.deepEqual(seen[0], [], "the sender");
    check("to(room, ...) reaches the members of the room only");

    await ack(a, "join", "r");
    b.emit("to", "r", "ev2", binary);
    await until(() => seen[0].length > 0, "ev2 on the other member");
    assert.deepEqual(seen[0], [["ev2", binary]], "the other member");
    assert.deepEqual(seen[1].length, 1, "the sender, a member, is excluded");
    check("to(room, ...) excludes the sender, carries binary");

    assert.equal(await ack(b, "leave", "r"), undefined);
    a.emit("to", "r", "ev3");
    c.emit("to", b.id, "private", "psst");
    await until(() => seen[1].length > 1, "the private event");
    assert.deepEqual(seen[1].slice(1), [["private", "psst"]], "b after leaving r");
    check("leave acks, and the socket no longer gets the room's events; to(id) reaches one socket");

    assert.equal(await ack(c, "join", 42), "the room name must be a string");
    assert.equal(await ack(c, "join", a.id), "cannot join the room of another socket");
    check("join refuses bad room names and other sockets' id rooms");
  },

  async namespaces() {
    const [a, b] = await Promise.all([connect("/game-42"), connect("/game-42")]);
    const [c, d] = await Promise.all([connect("/"), connect("/chat")]);
    const seen = [a, b, c, d].map(record);
    a.emit("move", "e4");
    d.emit("to", "nobody-here", "x");
    await until(() => seen[1].length > 0, "move on the other client of /game-42");
    assert.deepEqual(seen[1], [["move", "e4"]]);
    assert.deepEqual(seen[2], [], "a client of /");
    assert.deepEqual(seen[3], [], "a client of /chat");
    check("any namespace is accepted, and events stay in their namespace");
  },

  // Connects, says so, and reports the disconnect (the test stops the server meanwhile).
  async "wait-disconnect"() {
    const a = await connect();
    out({ event: "connected" });
    const [reason] = await new Promise((resolve) => a.once("disconnect", (...args) => resolve(args)));
    out({ event: "disconnected", reason });
  },
};

const run = cases[scenario];
if (!run) fail(`unknown case ${scenario}; known: ${Object.keys(cases).join(", ")}`);
await run();
for (const socket of sockets) socket.disconnect();
await sleep(100);
out({ event: "done" });
process.exit(0);

// The bench contract (shared/bench-contract.md) seen by socket.io-client, one case per run:
//   node bench_contract.mjs <server url> <case>
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
setTimeout(() => fail(`${scenario}: timed out after 10 s`), 10_000);

const sockets = [];

/** A new client (its own connection) on the main namespace. */
function connect(options = {}) {
  const socket = io(url, {
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

/** The arguments of the next `event` on `socket`. */
function next(socket, event, ms = 3000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** Counts the `event`s `socket` receives from now on. */
function counter(socket, event) {
  const seen = [];
  socket.on(event, (...args) => seen.push(args));
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

// The benchmark's payload: {"t":<µs>,"p":"<64 bytes>"}.
const payload = { t: 1732249845123456, p: "x".repeat(64) };
const binary = Buffer.from([0, 1, 2, 253, 254, 255]);

const cases = {
  async "echo-ack"() {
    const a = await connect();
    assert.deepEqual(await a.timeout(3000).emitWithAck("echo", payload), payload);
    check("echo with ack answers with the data");
    assert.deepEqual(await a.timeout(3000).emitWithAck("echo", binary), binary);
    check("binary echo with ack");
    const echoes = counter(a, "echo");
    await a.timeout(3000).emitWithAck("echo", "quiet");
    await sleep(200);
    assert.equal(echoes.length, 0, "an echo with ack also emitted an event");
    check("no echo event when there is an ack");
  },

  async "echo-ack-polling"() {
    const a = await connect({ transports: ["polling"] });
    assert.deepEqual(await a.timeout(3000).emitWithAck("echo", payload), payload);
    check("echo with ack over polling");
  },

  async "echo-no-ack"() {
    const a = await connect();
    const reply = next(a, "echo");
    a.emit("echo", payload);
    assert.deepEqual(await reply, [payload]);
    check("echo without ack emits echo back");
    const binaryReply = next(a, "echo");
    a.emit("echo", binary);
    assert.deepEqual(await binaryReply, [binary]);
    check("binary echo without ack");
  },

  async bcast() {
    const [a, b, c] = await Promise.all([connect(), connect(), connect()]);
    const seen = [a, b, c].map((socket) => counter(socket, "msg"));
    a.emit("bcast", payload);
    await until(() => seen.every((messages) => messages.length > 0), "msg on every client");
    for (const [i, messages] of seen.entries()) {
      assert.deepEqual(messages, [[payload]], `client ${i} got ${JSON.stringify(messages)}`);
    }
    check("bcast reaches every socket, the sender included, once");
    const binaries = [a, b, c].map((socket) => next(socket, "msg"));
    c.emit("bcast", binary);
    for (const received of await Promise.all(binaries)) assert.deepEqual(received, [binary]);
    check("binary bcast");
  },

  async room() {
    const a = await connect({ auth: { room: "r1" } });
    const b = await connect({ auth: { room: "r2" } });
    const c = await connect();
    const seen = [a, b, c].map((socket) => counter(socket, "msg"));
    c.emit("room", "r1", payload);
    await until(() => seen[0].length > 0, "msg on the member of r1");
    assert.deepEqual(seen[0], [[payload]], "the member of r1");
    assert.deepEqual(seen[1], [], "a member of another room");
    assert.deepEqual(seen[2], [], "the sender, not in r1");
    check("room reaches only the members of the room (auth room joined on connect)");
    const toA = next(a, "msg");
    b.emit("room", "r1", binary);
    assert.deepEqual(await toA, [binary]);
    check("binary room emit");
    const own = next(a, "msg");
    a.emit("room", "r1", "to myself");
    assert.deepEqual(await own, ["to myself"]);
    check("room reaches the sender when it is a member");
  },

  async join() {
    const a = await connect({ auth: { room: "r1" } });
    const b = await connect();
    const c = await connect();
    const ack = await c.timeout(3000).emitWithAck("join", "r3");
    assert.equal(ack, undefined, "join acks with no argument");
    check("join acks with no argument");
    const seen = [a, b, c].map((socket) => counter(socket, "msg"));
    b.emit("room", "r3", payload);
    await until(() => seen[2].length > 0, "msg on the socket that joined r3");
    assert.deepEqual(seen[2], [[payload]], "the socket that joined r3");
    assert.deepEqual(seen[0], [], "a socket in another room");
    assert.deepEqual(seen[1], [], "the sender");
    check("after join, room reaches the joined socket");
  },
};

const run = cases[scenario];
if (!run) fail(`unknown case ${scenario}; known: ${Object.keys(cases).join(", ")}`);
await run();
for (const socket of sockets) socket.disconnect();
await sleep(100);
out({ event: "done" });
process.exit(0);

// Runs a list of Redis emitter operations, in order, then quits. Driven by
// test-support/src/node.rs (`run_emitter`).
//
// usage: node emitter.mjs '<config JSON>'   (or the JSON on stdin)
// config: {redis: "redis://127.0.0.1:6379", key: "socket.io", ops: [op, …]}
// op (`emitter` picks the library, default "v5"):
//   v5     = @socket.io/redis-emitter 5.1, `new Emitter(nodeRedisClient, {key}, "/")`:
//     {op: "emit", nsp?, to?: [..], in?: [..], except?: [..], volatile?: true, compress?: bool,
//      event, args: [..]}
//     {op: "serverSideEmit", nsp?, event, args}
//     {op: "socketsJoin" | "socketsLeave", nsp?, to?, in?, except?, rooms: [..]}
//     {op: "disconnectSockets", nsp?, to?, in?, except?, close?: bool}
//   legacy = socket.io-emitter 3.2.0, `require("socket.io-emitter")({host, port, key})`:
//     {emitter: "legacy", op: "emit", nsp?, to?: [..], flags?: ["volatile", "json", "broadcast"],
//      event, args}          (`nsp` is passed to `of()` as given; rooms go one by one to `to()`)
//   any:
//     {op: "publish", channel, base64 | text}    a raw PUBLISH (node-redis)
//     {op: "sleep", ms}
// Args use the $bin / $date tags of common.mjs. Each op is sent and confirmed by Redis (a PING on
// the same connection) before the next one starts.
//
// Prints {"event":"done","count":N} and exits 0, or {"event":"fail","message"} and exits 1.
import { createRequire } from "node:module";
import { createClient } from "redis";
import { Emitter } from "@socket.io/redis-emitter";
import { fromWire, print, sleep } from "./common.mjs";

function fail(error) {
  print({ event: "fail", message: String(error?.stack ?? error) });
  process.exit(1);
}
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

async function readInput() {
  if (process.argv[2]) return JSON.parse(process.argv[2]);
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

const config = await readInput();
const key = config.key ?? "socket.io";

// Clients are created on first use.
let modern = null; // {client, emitter}
let legacy = null; // the socket.io-emitter instance (its redis 2.x client is `legacy.redis`)

async function modernClient() {
  if (!modern) {
    const client = createClient({ url: config.redis });
    client.on("error", (error) => console.error(`[emitter] redis error: ${error.message}`));
    await client.connect();
    modern = { client, emitter: new Emitter(client, { key }) };
  }
  return modern;
}

function legacyEmitter() {
  if (!legacy) {
    const require = createRequire(import.meta.url);
    const url = new URL(config.redis);
    legacy = require("socket.io-emitter")({ host: url.hostname, port: Number(url.port), key });
    legacy.redis.on("error", (error) => console.error(`[emitter] legacy redis error: ${error.message}`));
  }
  return legacy;
}

/** A redis 2.x command as a promise. */
function legacyCall(command, ...args) {
  return new Promise((resolve, reject) =>
    legacy.redis[command](...args, (error, reply) => (error ? reject(error) : resolve(reply))));
}

/** The v5 operator of `op`: namespace, then to/in/except, then flags. */
function modernOperator(emitter, op) {
  let target = op.nsp !== undefined ? emitter.of(op.nsp) : emitter;
  if (op.to !== undefined) target = target.to(op.to);
  if (op.in !== undefined) target = target.in(op.in);
  if (op.except !== undefined) target = target.except(op.except);
  if (op.volatile) target = target.volatile;
  if (op.compress !== undefined) target = target.compress(op.compress);
  return target;
}

async function runModern(op) {
  const { client, emitter } = await modernClient();
  const args = fromWire(op.args ?? []);
  const target = modernOperator(emitter, op);
  switch (op.op) {
    case "emit": target.emit(op.event, ...args); break;
    case "serverSideEmit": target.serverSideEmit(op.event, ...args); break;
    case "socketsJoin": target.socketsJoin(op.rooms); break;
    case "socketsLeave": target.socketsLeave(op.rooms); break;
    case "disconnectSockets": target.disconnectSockets(op.close ?? false); break;
    case "publish": await client.publish(op.channel, rawBytes(op)); break;
    default: throw new Error(`unknown v5 op ${op.op}`);
  }
  await client.ping();
}

async function runLegacy(op) {
  if (op.op !== "emit") throw new Error(`unknown legacy op ${op.op}`);
  let target = legacyEmitter();
  if (op.nsp !== undefined) target = target.of(op.nsp);
  for (const room of [].concat(op.to ?? [])) target = target.to(room);
  for (const flag of op.flags ?? []) target = target[flag];
  target.emit(op.event, ...fromWire(op.args ?? []));
  await legacyCall("ping");
}

function rawBytes(op) {
  return op.base64 !== undefined ? Buffer.from(op.base64, "base64") : Buffer.from(op.text ?? "");
}

let count = 0;
for (const op of config.ops ?? []) {
  if (op.op === "sleep") await sleep(op.ms ?? 0);
  else if ((op.emitter ?? "v5") === "legacy") await runLegacy(op);
  else await runModern(op);
  count += 1;
}

if (modern) await modern.client.quit();
if (legacy) await legacyCall("quit");
print({ event: "done", count });
process.exit(0);

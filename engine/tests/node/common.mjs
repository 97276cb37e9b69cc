// Shared helpers of the Node scripts the engine's integration tests run (see tests/support/mod.rs).
// Every script prints one JSON object per line on stdout, has its own overall timeout, and exits
// non-zero on failure.
import { Socket } from "engine.io-client";

export const url = process.argv[2];
if (!url) fail("usage: node <script>.mjs <server url> ...");

export function emit(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

export function fail(message) {
  emit({ event: "fail", message: String(message) });
  process.exit(1);
}

process.on("unhandledRejection", (error) => fail(error?.stack ?? error));
process.on("uncaughtException", (error) => fail(error?.stack ?? error));

/** Fails the script if it has not finished after `ms`. */
export function deadline(ms = 10000) {
  setTimeout(() => fail(`timed out after ${ms} ms`), ms);
}

/**
 * Exits with success after a short delay: the client writes its close packet (a polling POST, a
 * websocket close frame) only after emitting "close", and exiting at once would cut it off.
 */
export async function finish() {
  await sleep(250);
  process.exit(0);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The bytes `i & 0xff` for i < len, as the Rust side's `pattern`. */
export function pattern(len) {
  const bytes = Buffer.alloc(len);
  for (let i = 0; i < len; i++) bytes[i] = i & 0xff;
  return bytes;
}

/** FNV-1a, 32 bits, lowercase hex (as `support::fnv`). */
export function fnv(bytes) {
  let hash = 0x811c9dc5;
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/** A received message as JSON (as `support::text_event` / `support::binary_event`). */
export function describe(data) {
  // engine.io-parser decodes a message packet without data ("4") as a message of `undefined`.
  if (data === undefined) return { event: "message", type: "none" };
  if (typeof data === "string") {
    const bytes = Buffer.from(data, "utf8");
    const event = { event: "message", type: "text", length: bytes.length, fnv: fnv(bytes) };
    if ([...data].length <= 64) event.text = data;
    return event;
  }
  const bytes = Buffer.isBuffer(data)
    ? data
    : data instanceof ArrayBuffer
      ? Buffer.from(data)
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const event = { event: "message", type: "binary", length: bytes.length, fnv: fnv(bytes) };
  if (bytes.length <= 32) event.hex = bytes.toString("hex");
  return event;
}

/**
 * Connects with engine.io-client. `mode` is `polling` (polling only), `websocket` (websocket only)
 * or `upgrade` (the client's default transports: polling first, then the upgrade).
 */
export function connect(mode, options = {}) {
  const opts = { path: "/engine.io/", ...options };
  if (mode === "polling") opts.transports = ["polling"];
  else if (mode === "websocket") opts.transports = ["websocket"];
  else if (mode !== "upgrade") fail(`unknown mode ${mode}`);
  const socket = new Socket(url, opts);
  return { socket, inbox: new Inbox(socket) };
}

/** The socket's events in order: open, upgrade, message, close. */
export class Inbox {
  constructor(socket) {
    this.items = [];
    this.waiters = [];
    socket.on("open", () => this.push({ event: "open", transport: socket.transport.name }));
    socket.on("upgrade", (transport) => this.push({ event: "upgrade", transport: transport.name }));
    socket.on("message", (data) => this.push(describe(data)));
    socket.on("close", (reason) => this.push({ event: "close", reason }));
  }

  push(item) {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  /** The next event (not printed). */
  next() {
    if (this.items.length) return Promise.resolve(this.items.shift());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Prints the next event; fails unless it is `name`. */
  async expect(name) {
    const item = await this.next();
    emit(item);
    if (item.event !== name) fail(`expected a ${name} event, got ${JSON.stringify(item)}`);
    return item;
  }
}

/** Connects and waits for the open event (and, in `upgrade` mode, for the upgrade), printing them. */
export async function open(mode, options) {
  const client = connect(mode, options);
  await client.inbox.expect("open");
  if (mode === "upgrade") {
    await client.inbox.expect("upgrade");
  }
  emit({ event: "transport", name: client.socket.transport.name });
  return client;
}

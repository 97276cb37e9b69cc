// Shared helpers of the socket.io-client scripts the server's integration tests run (see
// server/tests/support/mod.rs). Every script prints one JSON object per line on stdout, has its own
// overall timeout, and exits non-zero on failure.
// usage: node <script>.mjs <server url> <polling|websocket|upgrade> ...
import { io, Manager } from "socket.io-client";

export const url = process.argv[2];
export const mode = process.argv[3];
export const args = process.argv.slice(4);
if (!url || !mode) fail("usage: node <script>.mjs <server url> <polling|websocket|upgrade> ...");

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
export function deadline(ms = 8000) {
  setTimeout(() => fail(`timed out after ${ms} ms`), ms);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Exits with success after a short delay (lets the last packets and close frames go out). */
export async function finish() {
  await sleep(100);
  process.exit(0);
}

/** The client options of `mode`: one connection per call, no reconnection. */
export function options(extra = {}) {
  const opts = { reconnection: false, forceNew: true, timeout: 3000, ...extra };
  if (mode === "polling") opts.transports = ["polling"];
  else if (mode === "websocket") opts.transports = ["websocket"];
  else if (mode !== "upgrade") fail(`unknown mode ${mode}`);
  return opts;
}

/** A manager (one Engine.IO connection shared by the namespaces it opens). */
export function manager(extra = {}) {
  return new Manager(url, options(extra));
}

/** Waits until the manager's engine runs on its final transport (in `upgrade` mode: the upgrade). */
export async function settled(manager) {
  const engine = manager.engine;
  if (mode !== "upgrade" || engine.transport.name === "websocket") return;
  await new Promise((resolve) => engine.once("upgrade", resolve));
}

/** Waits for `connect` (fails on `connect_error`), then for the transport to settle. */
export async function connected(socket) {
  if (!socket.connected) {
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (err) =>
        reject(new Error(`connect_error on ${socket.nsp}: ${err.message}`)),
      );
    });
  }
  await settled(socket.io);
  return socket;
}

/** A socket on its own connection to namespace `nsp`, connected and settled. */
export async function connect(nsp = "/", extra = {}) {
  return connected(io(url + nsp, options(extra)));
}

/** Waits for the `connect_error` of a socket and returns it as `{message, data}`. */
export function connectError(socket) {
  return new Promise((resolve) => {
    socket.once("connect", () => fail(`${socket.nsp} connected; a connect_error was expected`));
    socket.once("connect_error", (err) =>
      resolve({ message: err.message, data: err.data === undefined ? null : err.data }),
    );
  });
}

/** Prints the transport of `socket`'s connection (the tests check it against the mode). */
export function reportTransport(socket) {
  emit({ event: "transport", name: socket.io.engine.transport.name });
}

/** Binary data as `{"$bin": hex}` and ack callbacks as `{"$ack": true}`, recursively. */
export function describe(value) {
  if (typeof value === "function") return { $ack: true };
  if (Buffer.isBuffer(value)) return { $bin: value.toString("hex") };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("hex") };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex") };
  }
  if (Array.isArray(value)) return value.map(describe);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describe(v)]));
  }
  return value;
}

/** Queues every call of event `name` on `socket` (its arguments), to take them in order. */
export class Inbox {
  constructor(socket, name) {
    this.name = name;
    this.items = [];
    this.waiters = [];
    socket.on(name, (...args) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(args);
      else this.items.push(args);
    });
  }

  /** The arguments of the next call (fails after `ms`). */
  next(ms = 3000) {
    if (this.items.length) return Promise.resolve(this.items.shift());
    return new Promise((resolve) => {
      const timer = setTimeout(() => fail(`no ${this.name} event within ${ms} ms`), ms);
      this.waiters.push((args) => {
        clearTimeout(timer);
        resolve(args);
      });
    });
  }
}

/** Emits `event` with `args` and resolves with the ack's arguments (fails after `ms`). */
export function request(socket, event, ...args) {
  return new Promise((resolve) => {
    socket.timeout(3000).emit(event, ...args, (err, ...answer) => {
      if (err) fail(`no ack for ${event}: ${err.message}`);
      resolve(answer);
    });
  });
}

/** Waits for the socket's `disconnect` and returns the reason. */
export function disconnected(socket) {
  return new Promise((resolve) => socket.once("disconnect", (reason) => resolve(reason)));
}

/** The bytes `i & 0xff` for i < len, as the Rust side's `pattern`. */
export function pattern(len) {
  const bytes = Buffer.alloc(len);
  for (let i = 0; i < len; i++) bytes[i] = i & 0xff;
  return bytes;
}

// Shared helpers of the cluster scripts (peer.mjs, clients.mjs, emitter.mjs), driven by
// test-support/src/node.rs. Every script talks in JSON lines: one JSON object per line on stdout,
// commands as JSON lines on stdin. Values that JSON cannot carry are tagged:
//   {"$bin": "<base64>"}   Buffer / ArrayBuffer / typed array
//   {"$date": "<ISO>"}     Date
import { createInterface } from "node:readline";

/** Prints one JSON line on stdout. */
export function print(object) {
  process.stdout.write(JSON.stringify(object) + "\n");
}

/** Turns a JS value into plain JSON, tagging binary values and dates. Sets become arrays. */
export function toWire(value) {
  if (value === undefined || value === null) return null;
  if (Buffer.isBuffer(value)) return { $bin: value.toString("base64") };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("base64") };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (value instanceof Date) return { $date: value.toISOString() };
  if (value instanceof Set) return [...value].map(toWire);
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === "object") {
    const out = {};
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== "function") out[key] = toWire(item);
    }
    return out;
  }
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}

/** The inverse of `toWire`: `{"$bin"}` becomes a Buffer, `{"$date"}` a Date. */
export function fromWire(value) {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$bin") return Buffer.from(value.$bin, "base64");
    if (keys.length === 1 && keys[0] === "$date") return new Date(value.$date);
    return Object.fromEntries(keys.map((key) => [key, fromWire(value[key])]));
  }
  return value;
}

/**
 * The script's configuration: JSON in argv[2], or else in the environment variable `envName`.
 */
export function readConfig(envName) {
  const text = process.argv[2] ?? process.env[envName];
  if (!text) throw new Error(`no configuration: pass JSON as the first argument or in ${envName}`);
  return JSON.parse(text);
}

/**
 * Runs `handle(command)` for each JSON line on stdin and prints its answer, carrying the command's
 * `id`: `{"id", "ok": true, "result"}` or `{"id", "ok": false, "error": "<message>"}`. Commands run
 * concurrently: a slow one (an ack wait) does not hold up the next.
 */
export function serveCommands(handle) {
  const lines = createInterface({ input: process.stdin });
  lines.on("line", async (line) => {
    if (!line.trim()) return;
    let command;
    try {
      command = JSON.parse(line);
    } catch (error) {
      print({ id: null, ok: false, error: `bad command line: ${error.message}` });
      return;
    }
    try {
      const result = await handle(command);
      print({ id: command.id, ok: true, result: toWire(result) });
    } catch (error) {
      print({ id: command.id, ok: false, error: error?.message ?? String(error) });
    }
  });
  return lines;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

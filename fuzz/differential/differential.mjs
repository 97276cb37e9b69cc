// Differential check, Node side: runs every file of a corpus through Node's decoders and prints one
// JSON line per file (see run.sh and ../DIVERGENCES.md):
//
//   node differential.mjs decode <corpus dir>                    # Node's lines
//   node compare.mjs <node.jsonl> <rust.jsonl> <corpus dir>      # report disagreements
//
// Each line: {"file", "eio_packet", "eio_payload", "sio", "ws_path", "msgpack", "redis_msgpack",
// "redis_json"}, each decoder's result
// {"ok": false, "error": "..."} | {"ok": true, "value": ...} | "skip" (the decoder does not apply to
// this input, e.g. a text decoder on bytes that are not UTF-8, which neither a websocket text frame
// nor a JavaScript string can hold). Values are normalized so that both implementations can print
// them (see normalize* below and the "normalized" section of DIVERGENCES.md).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { decodePacket, decodePayload } from "engine.io-parser";
import { Decoder } from "socket.io-parser";
import notepack from "notepack.io";

const hex = (b) => Buffer.from(b).toString("hex");

// notepack.io decodes an ArrayBuffer extension (ext type 0) by allocating and filling the length its
// header declares, before looking at the input: 12 bytes can declare 4 GB and take minutes. Such an
// input always fails in the end (the value runs past the input), so it fails at once here, with the
// same answer: while notepack decodes, an ArrayBuffer longer than the input is refused.
let notepackInput = Infinity;
globalThis.ArrayBuffer = new Proxy(ArrayBuffer, {
  construct(target, args, newTarget) {
    if (args[0] > notepackInput) throw new RangeError("ArrayBuffer longer than the input");
    return Reflect.construct(target, args, newTarget);
  },
});
function notepackDecode(buf) {
  notepackInput = buf.length;
  try {
    return notepack.decode(buf);
  } finally {
    notepackInput = Infinity;
  }
}
const utf8 = new TextDecoder("utf-8", { fatal: true });

// The files under root/*/, and those directly in root (a fuzzer's scratch corpus), in the order of
// decode_corpus.rs.
function files(root) {
  const out = [];
  const top = [];
  for (const name of readdirSync(root).sort()) {
    const d = join(root, name);
    if (statSync(d).isFile()) {
      top.push(d);
      continue;
    }
    if (!statSync(d).isDirectory()) continue;
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isFile()) out.push(p);
    }
  }
  return [...out, ...top];
}

// ---- Engine.IO -----------------------------------------------------------------------------------

// {type, data?: string, binary?: hex}; data dropped for close/upgrade/noop (oxio ignores it) and
// when empty.
function eioValue(p) {
  if (p.type === "message" && p.data !== undefined && typeof p.data !== "string") return { type: "message", binary: hex(p.data) };
  const v = { type: p.type };
  if (!["close", "upgrade", "noop"].includes(p.type) && p.data) v.data = p.data;
  return v;
}

function eioPacket(text) {
  const p = decodePacket(text, "nodebuffer");
  return p.type === "error" ? { ok: false, error: p.data } : { ok: true, value: eioValue(p) };
}

function eioPayload(text) {
  const packets = decodePayload(text, "nodebuffer");
  if (packets.some((p) => p.type === "error")) return { ok: false, error: "parser error" };
  return { ok: true, value: packets.map(eioValue) };
}

// ---- Socket.IO -------------------------------------------------------------------------------------

// Attachment i is fed as the 1-byte buffer [i] (or [i, 0xff] past 255), so that a buffer in the
// reconstructed data can be mapped back to its index: {"$bin": i}.
const attachment = (i) => Buffer.from(i < 256 ? [i] : [i & 0xff, 0xff, i >> 8]);
function binIndex(b) {
  return b.length === 1 ? b[0] : b[0] | (b[2] << 8);
}
// Deeper than 5000 levels, a value is compared as {"$too_deep": true} (on both sides).
export function replaceBuffers(v, depth = 0) {
  if (depth > 5000) return { $too_deep: true };
  if (Buffer.isBuffer(v)) return { $bin: binIndex(v) };
  if (Array.isArray(v)) return v.map((x) => replaceBuffers(x, depth + 1));
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = replaceBuffers(v[k], depth + 1);
    return o;
  }
  return v;
}

// {type (binary types as EVENT/ACK), nsp, id (null if none), data (undefined → absent), attachments}
function sioValue(p, attachments) {
  const v = { type: p.type, nsp: p.nsp, id: p.id ?? null, attachments };
  if (p.data !== undefined) v.data = replaceBuffers(p.data);
  return v;
}

// Decodes one text as a Socket.IO packet; a binary packet gets the attachments it announces.
function sio(text) {
  const d = new Decoder();
  let out = null;
  d.on("decoded", (p) => (out = p));
  try {
    d.add(text);
    let n = 0;
    while (!out && d.reconstructor && n < 1000) d.add(attachment(n++));
    if (!out) return { ok: false, error: "incomplete" };
    return { ok: true, value: sioValue(out, n) };
  } catch (e) {
    return { ok: false, error: String(e.message ?? e) };
  }
}

// ---- The websocket receive path, on a transcript ---------------------------------------------------

export function parseTranscript(buf) {
  const header = "#oxio-frames\n";
  if (!buf.subarray(0, header.length).equals(Buffer.from(header))) return null;
  const frames = [];
  for (const line of buf.subarray(header.length).toString("latin1").split("\n")) {
    const raw = Buffer.from(line, "latin1");
    if (line.startsWith("t ")) {
      const rest = raw.subarray(2).toString("utf8"); // lossy, as in oxio
      let text;
      try {
        text = JSON.parse(rest);
        if (typeof text !== "string") text = rest;
      } catch {
        text = rest;
      }
      frames.push({ text });
    } else if (line.startsWith("b ")) {
      const digits = line.slice(2).replace(/[^0-9a-fA-F]/g, "");
      frames.push({ binary: Buffer.from(digits.slice(0, digits.length & ~1), "hex") });
    }
  }
  return frames;
}

// Text frame → decodePacket → message → socket.io Decoder; binary frame → Decoder. The first error
// ends it. Value: {packets: [...], error: bool}.
function wsPath(frames) {
  const d = new Decoder();
  const packets = [];
  let pendingAttachments = 0;
  d.on("decoded", (p) => packets.push(sioValue(p, pendingAttachments)));
  let error = false;
  for (const f of frames) {
    try {
      let data;
      if (f.text !== undefined) {
        const p = decodePacket(f.text, "nodebuffer");
        if (p.type === "error") { error = true; break; }
        if (p.type !== "message") continue;
        data = p.data ?? "";
      } else {
        data = f.binary;
      }
      if (typeof data === "string") {
        const m = /^[56](\d+)-/.exec(data);
        pendingAttachments = m ? Number(m[1]) : 0;
      }
      // Buffers are renumbered so that replaceBuffers can name them: the k-th attachment of a
      // packet becomes attachment(k); the bytes themselves are compared separately.
      if (typeof data !== "string") {
        const k = d.reconstructor ? d.reconstructor.buffers.length : 0;
        (wsPath.bytes ??= []).push(hex(data));
        data = attachment(k);
      }
      d.add(data);
    } catch {
      error = true;
      break;
    }
  }
  return { packets, error };
}

// ---- msgpack (socket.io-msgpack-parser on notepack.io) --------------------------------------------

// socket.io-msgpack-parser 3.0.2's Decoder: notepack's decode, then checkPacket (copied here: that
// package is not a dependency; it depends on notepack.io ~2.2, this directory on 3.0.1, see
// DIVERGENCES.md).
const isObject = (v) => Object.prototype.toString.call(v) === "[object Object]";
function checkPacket(decoded) {
  if (!(Number.isInteger(decoded.type) && decoded.type >= 0 && decoded.type <= 4)) throw new Error("invalid packet type");
  if (typeof decoded.nsp !== "string") throw new Error("invalid namespace");
  const dataOk = [
    () => decoded.data === undefined || isObject(decoded.data),
    () => decoded.data === undefined,
    () => Array.isArray(decoded.data),
    () => Array.isArray(decoded.data),
    () => typeof decoded.data === "string" || isObject(decoded.data),
  ][decoded.type]();
  if (!dataOk) throw new Error("invalid payload");
  if (!(decoded.id === undefined || Number.isInteger(decoded.id))) throw new Error("invalid packet id");
}

// The data as JSON.stringify writes it (Dates as ISO strings, undefined left out or null, NaN and
// infinities null), each Buffer or ArrayBuffer as {"$bin": hex}; `count` counts them.
function msgpackData(v, count, depth = 0) {
  if (depth > 5000) return { $too_deep: true };
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer) {
    count.n++;
    return { $bin: hex(Buffer.from(v)) };
  }
  if (Array.isArray(v)) return v.map((x) => msgpackData(x, count, depth + 1));
  if (v && typeof v === "object" && !(v instanceof Date)) {
    const o = {};
    for (const k of Object.keys(v)) o[k] = msgpackData(v[k], count, depth + 1);
    return o;
  }
  return v;
}

function msgpack(buf) {
  let p;
  try {
    p = notepackDecode(buf);
    if (p === null || typeof p !== "object") throw new Error("not a packet object");
    checkPacket(p);
  } catch (e) {
    return { ok: false, error: String(e.message ?? e) };
  }
  const count = { n: 0 };
  const value = { type: p.type, nsp: p.nsp, id: p.id ?? null };
  if (p.data !== undefined) {
    const data = JSON.stringify(msgpackData(p.data, count));
    if (data !== undefined) value.data = JSON.parse(data);
  }
  value.attachments = count.n;
  return { ok: true, value };
}

// ---- Redis adapter (@socket.io/redis-adapter 8.3: notepack.io 3.0.1, and JSON.parse) -------------

// The common form of a decoded value (fuzz/src/differential.rs writes oxio's the same way): JSON,
// each Buffer or ArrayBuffer as {"$bin": hex}, a Date as its toJSON (ISO string, null if invalid),
// NaN and the infinities as {"$num": "NaN"} ("Infinity", "-Infinity"), undefined as JSON.stringify
// has it (left out of an object, null elsewhere). Objects are rebuilt with own properties only, so a
// "__proto__" key that notepack turned into a prototype is not there (JSON.parse's is).
export function redisForm(v, depth = 0) {
  if (depth > 5000) return { $too_deep: true };
  if (v === undefined || v === null) return null;
  if (typeof v === "number") return Number.isFinite(v) ? v : { $num: String(v) };
  if (typeof v !== "object") return v;
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer) return { $bin: hex(Buffer.from(v)) };
  if (v instanceof Date) return v.toJSON();
  if (Array.isArray(v)) return v.map((x) => redisForm(x, depth + 1));
  const entries = [];
  for (const k of Object.keys(v)) if (v[k] !== undefined) entries.push([k, redisForm(v[k], depth + 1)]);
  return Object.fromEntries(entries);
}

// notepack.io 3.0.1's decode, as the adapter calls it on every message that is not JSON.
function redisMsgpack(buf) {
  try {
    return { ok: true, value: redisForm(notepackDecode(buf)) };
  } catch (e) {
    return { ok: false, error: String(e.message ?? e) };
  }
}

// The adapter's JSON path (`JSON.parse(msg.toString())`), for inputs starting with `{` (what the
// adapter parses as JSON) or `[`.
function redisJson(buf) {
  if (buf[0] !== 0x7b && buf[0] !== 0x5b) return "skip";
  try {
    return { ok: true, value: redisForm(JSON.parse(buf.toString("utf8"))) };
  } catch (e) {
    return { ok: false, error: String(e.message ?? e) };
  }
}

// ---- decode ------------------------------------------------------------------------------------------

function decodeAll(root) {
  for (const path of files(root)) {
    const buf = readFileSync(path);
    let text = null;
    try { text = utf8.decode(buf); } catch {}
    const line = { file: relative(root, path) };
    line.eio_packet = text === null ? "skip" : eioPacket(text);
    // A polling body is read as UTF-8 with replacement characters (Node's Buffer#toString).
    line.eio_payload = eioPayload(buf.toString("utf8"));
    line.sio = text === null ? "skip" : sio(text);
    const frames = parseTranscript(buf);
    if (frames) {
      wsPath.bytes = [];
      const r = wsPath(frames);
      line.ws_path = { ok: true, value: { ...r, attachment_bytes: wsPath.bytes } };
    } else {
      line.ws_path = "skip";
    }
    line.msgpack = msgpack(buf);
    line.redis_msgpack = redisMsgpack(buf);
    line.redis_json = redisJson(buf);
    process.stdout.write(JSON.stringify(line) + "\n");
  }
}

const [cmd, ...args] = process.argv.slice(2);
if (import.meta.url !== `file://${process.argv[1]}`) {
  // Imported (by compare.mjs): nothing to run.
} else if (cmd === "decode") decodeAll(args[0]);
else {
  console.error("usage: node differential.mjs decode <corpus dir>");
  process.exitCode = 2;
}

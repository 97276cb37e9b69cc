// Differential check, comparison: joins Node's and oxio's JSON lines by file, reports every decoder
// result on which they disagree (accept/reject, or decoded value), and classifies each disagreement by
// the divergences listed in ../DIVERGENCES.md (ids D1..., M1..., R1...) and its open bugs (B...). Returns 1
// if any disagreement is explained by neither, 0 otherwise.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { replaceBuffers, parseTranscript } from "./differential.mjs";

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const readLines = (path) =>
  new Map(readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => {
    const v = JSON.parse(l);
    return [v.file, v];
  }));

// oxio keeps placeholders ({"_placeholder": true, "num": i}) where Node puts attachment i; both
// become {"$bin": i}. Its data is raw JSON text, parsed here as Node parses it.
// For msgpack, {"$bin": hex} with the attachment's bytes.
function placeholdersToBin(v, hexes, depth = 0) {
  if (depth > 5000) return { $too_deep: true };
  if (Array.isArray(v)) return v.map((x) => placeholdersToBin(x, hexes, depth + 1));
  if (v && typeof v === "object") {
    if (v._placeholder === true && Number.isInteger(v.num)) return { $bin: hexes ? hexes[v.num] : v.num };
    const o = {};
    for (const k of Object.keys(v)) o[k] = placeholdersToBin(v[k], hexes, depth + 1);
    return o;
  }
  return v;
}
function rustSio(v) {
  const { data_raw, attachments_hex, ...rest } = v;
  if (data_raw === undefined) return rest;
  let data;
  try {
    const parsed = JSON.parse(data_raw);
    // Node replaces placeholders only in a packet that has attachments.
    data = rest.attachments > 0 ? placeholdersToBin(parsed, attachments_hex) : replaceBuffers(parsed);
  } catch (e) {
    data = { $json_parse_error: String(e.message) };
  }
  // data_raw is kept (not enumerable, so not compared) for the classification.
  return Object.defineProperty({ ...rest, data }, "data_raw", { value: data_raw, enumerable: false });
}
function normalizeRust(key, r) {
  if (typeof r !== "object" || !r.ok) return r;
  if (key === "sio" || key === "msgpack") return { ...r, value: rustSio(r.value) };
  if (key === "ws_path") return { ...r, value: { ...r.value, packets: r.value.packets.map(rustSio) } };
  return r;
}
// Node's sio values went through replaceBuffers already; apply the depth cap to both the same way.
function canonical(v) {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]))
      : x);
}

// ---- What Node's decodeString reads as the header of a Socket.IO text ----------------------------------

const jsNumberLike = (c) => c !== "" && Number(c) == c; // digits, and whitespace (Number(" ") == 0)
function nodeHeader(str) {
  let i = 0;
  const h = { type: Number(str.charAt(0)) };
  if (h.type === 5 || h.type === 6) {
    const start = i + 1;
    while (str.charAt(++i) !== "-" && i != str.length) {}
    h.count = str.substring(start, i);
  }
  h.nsp = "/";
  if ("/" === str.charAt(i + 1)) {
    const start = i + 1;
    while (++i) {
      const c = str.charAt(i);
      if ("," === c || i === str.length) break;
    }
    h.nsp = str.substring(start, i);
  }
  if (jsNumberLike(str.charAt(i + 1))) {
    const start = i + 1;
    while (++i) {
      const c = str.charAt(i);
      if (!jsNumberLike(c)) { --i; break; }
      if (i === str.length) break;
    }
    h.id = str.substring(start, i + 1);
  }
  h.data = str.substring(i + 1);
  return h;
}

// Deepest nesting of arrays/objects in JSON text, strings skipped (as oxio's check).
function depthOf(json) {
  let depth = 0, max = 0, inString = false, escaped = false;
  for (const c of json) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "[" || c === "{") max = Math.max(max, ++depth);
    else if (c === "]" || c === "}") depth = Math.max(0, depth - 1);
  }
  return max;
}

// The divergence ids (DIVERGENCES.md) a Socket.IO text can trigger, judged from the text alone.
function sioTriggers(str) {
  const t = new Set();
  if (str === "" || (str.charAt(0).trim() === "" )) t.add("D1"); // empty, or a whitespace type
  const h = nodeHeader(str);
  if (h.count !== undefined && !/^[0-9]+$/.test(h.count)) t.add("D2");
  if (h.id !== undefined && !/^[0-9]+$/.test(h.id)) t.add("D3");
  if (h.id !== undefined && /^[0-9]+$/.test(h.id) && Number(h.id) > MAX_SAFE) t.add("D4");
  if ([2, 3, 4, 5, 6].includes(h.type) && h.data === "") t.add("D5");
  if ([3, 6].includes(h.type) && h.id === undefined) t.add("D5");
  if (Buffer.byteLength(h.nsp) > 1024) t.add("D6");
  if ([5, 6].includes(h.type) && /placeholder|\\u/.test(h.data)) t.add("D7");
  if (depthOf(h.data) > 512) t.add("D8");
  return t;
}

// Whether the base64 of a `b` element is not in the canonical form oxio's decoder takes (standard
// alphabet, padding optional, zero trailing bits): Node's Buffer.from(s, "base64") decodes anything.
function lenientBase64(s) {
  const body = s.replace(/={1,2}$/, "");
  const canonical = Buffer.from(body, "base64").toString("base64").replace(/=+$/, "");
  return body !== canonical || (s.length !== body.length && s.length % 4 !== 0);
}

// Triggers of a whole transcript (websocket path): those of each Socket.IO text, D9 for a binary
// message in a `b` text frame (base64).
function wsTriggers(frames) {
  const t = new Set();
  for (const f of frames) {
    if (f.text === undefined) continue;
    if (f.text.startsWith("b") && lenientBase64(f.text.slice(1))) t.add("D9");
    if (f.text.startsWith("4")) for (const x of sioTriggers(f.text.slice(1))) t.add(x);
  }
  return t;
}

// Which listed divergence explains a disagreement; null if none.
function classify(key, input, n, r) {
  const text = input.toString("utf8");
  const nodeErr = n && n.ok === false ? n.error : "";
  switch (key) {
    case "eio_packet":
    case "eio_payload": {
      const parts = key === "eio_packet" ? [text] : text.split("\x1e");
      if (parts.some((p) => p.startsWith("b") && lenientBase64(p.slice(1)))) return "D9";
      return null;
    }
    case "sio": {
      if (/call stack/i.test(nodeErr)) return "D8";
      const t = sioTriggers(text);
      for (const id of ["D1", "D2", "D3", "D4", "D5", "D6", "D8"]) if (t.has(id)) return id;
      if (t.has("D7") && r.ok === false && /placeholder/.test(r.error)) return "D7";
      return null;
    }
    case "ws_path": {
      const t = wsTriggers(parseTranscript(input) ?? []);
      if (t.size) return [...t].sort().join("+");
      return null;
    }
    case "msgpack":
      return classifyMsgpack(n, r);
    case "redis_msgpack":
    case "redis_json": {
      const t = key === "redis_msgpack" ? redisMsgpackTriggers(input) : redisJsonTriggers(input, n);
      return t.size ? [...t].sort().join("+") : null;
    }
    default:
      return null;
  }
}

// msgpack (M1...): judged from oxio's answer, which names the rule it applied.
function classifyMsgpack(n, r) {
  const rErr = r.ok === false ? r.error : "";
  if (n.ok && !r.ok) {
    if (/namespace/.test(rErr)) return "M2";
    if (/reserved|payload for Event/.test(rErr)) return "M3";
    if (/ack id/.test(rErr)) return "M4";
    if (/cannot be a JSON key/.test(rErr)) return "M6";
    if (/nested deeper|too many binary/.test(rErr)) return "M7";
    if (/placeholder object next to binary|payload for (Connect|ConnectError|Disconnect)/.test(rErr)) return "M8";
    return null;
  }
  if (n.ok && r.ok) {
    const raw = r.value.data_raw ?? "";
    if (raw.includes('[-1,{"_placeholder":true')) return "M1";
    const shown = (JSON.stringify(r.value.data ?? null).match(/"\$bin"/g) ?? []).length;
    if (r.value.attachments > shown) return "M5";
  }
  return null;
}

// ---- Redis adapter values (R1...) ---------------------------------------------------------------------

// What in a msgpack input can make notepack.io 3.0.1 and oxio's decoder differ, found by walking it
// with oxio's framing (a value's length as its header gives it). Returns the set of divergence ids.
function redisMsgpackTriggers(buf) {
  const t = new Set();
  let pos = 0;
  const MAX_DEPTH = 100;
  const need = (n) => {
    if (pos + n > buf.length) throw new Error("truncated");
  };
  const uint = (n) => {
    need(n);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + buf[pos + i];
    pos += n;
    return v;
  };
  const int8 = () => {
    need(1);
    return (buf[pos++] << 24) >> 24;
  };
  // An extension of type `ty`, `len` bytes; `sized` for c7/c8/c9 (`ext8` for c7).
  const ext = (head, ty, len) => {
    need(len);
    const body = buf.subarray(pos, pos + len);
    pos += len;
    const sized = head >= 0xc7 && head <= 0xc9;
    if (ty === 0 && sized) return { kind: "arraybuffer" };
    if (ty === 0 && head === 0xd7) return { kind: "date" };
    if (ty === -1 && ((head === 0xd6) || (head === 0xd7) || (head === 0xc7 && len === 12))) {
      // Nanoseconds that are not whole ms: Node adds them as a double fraction (R9).
      const nanos = head === 0xd6 ? 0 : head === 0xd7 ? body.readUInt32BE(0) >>> 2 : body.readUInt32BE(0);
      if (nanos % 1e6 !== 0) t.add("R9");
      return { kind: "date" };
    }
    if (ty === -1) t.add("R2");
    else t.add("R1");
    return { kind: "ext" };
  };
  // One value: {kind, text (a string's or binary's text, for keys), date, arraybuffer (for keys)}.
  const item = (depth) => {
    need(1);
    const b = buf[pos++];
    if (b <= 0x7f || b >= 0xe0) return { kind: "number" };
    if (b <= 0x8f) return map(b & 0x0f, depth);
    if (b <= 0x9f) return array(b & 0x0f, depth);
    if (b <= 0xbf) return str(b & 0x1f);
    switch (b) {
      case 0xc0: return { kind: "null" };
      case 0xc2: case 0xc3: return { kind: "bool" };
      case 0xc4: case 0xc5: case 0xc6: return str(uint(1 << (b - 0xc4)), "bin");
      case 0xc7: case 0xc8: case 0xc9: {
        const len = uint(1 << (b - 0xc7));
        return ext(b, int8(), len);
      }
      case 0xca: need(4); pos += 4; return { kind: "number" };
      case 0xcb: need(8); pos += 8; return { kind: "number" };
      case 0xcc: case 0xcd: case 0xce: case 0xcf: { const n = 1 << (b - 0xcc); need(n); pos += n; return { kind: "number" }; }
      case 0xd0: case 0xd1: case 0xd2: case 0xd3: { const n = 1 << (b - 0xd0); need(n); pos += n; return { kind: "number" }; }
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: {
        const ty = int8();
        if (b === 0xd4 && ty === 0) { need(1); pos += 1; return { kind: "undefined" }; }
        return ext(b, ty, 1 << (b - 0xd4));
      }
      case 0xd9: case 0xda: case 0xdb: return str(uint(1 << (b - 0xd9)));
      case 0xdc: case 0xdd: return array(uint(2 << (b - 0xdc)), depth);
      case 0xde: case 0xdf: return map(uint(2 << (b - 0xde)), depth);
      default: throw new Error("invalid byte");
    }
  };
  const str = (n, kind = "str") => {
    need(n);
    const text = buf.toString("utf8", pos, pos + n);
    pos += n;
    return { kind, text };
  };
  const array = (n, depth) => {
    if (depth >= MAX_DEPTH) { t.add("R4"); throw new Error("deep"); }
    const out = { kind: "array", date: false, arraybuffer: false };
    for (let i = 0; i < n; i++) {
      const v = item(depth + 1);
      out.date ||= v.kind === "date" || !!v.date;
      out.arraybuffer ||= v.kind === "arraybuffer" || !!v.arraybuffer;
    }
    return out;
  };
  const map = (n, depth) => {
    if (depth >= MAX_DEPTH) { t.add("R4"); throw new Error("deep"); }
    const seen = new Set();
    for (let i = 0; i < n; i++) {
      const k = item(depth + 1);
      const v = item(depth + 1);
      if (k.kind === "date" || k.date) t.add("R3");
      if (k.kind === "arraybuffer" || k.arraybuffer) t.add("R7");
      const name = k.text;
      if (name === "__proto__") t.add("R5");
      if (name !== undefined) {
        if (v.kind === "undefined" && seen.has(name)) t.add("R6");
        seen.add(name);
      }
    }
    return { kind: "map" };
  };
  try {
    item(0);
  } catch {
    // Truncated or invalid: both refuse it, or the triggers found so far explain the difference.
  }
  return t;
}

// JSON text: nesting deeper than 100 (R4), and strings with lone surrogates (R8), seen in Node's value.
function redisJsonTriggers(buf, n) {
  const t = new Set();
  if (depthOf(buf.toString("utf8")) > 100) t.add("R4");
  const lone = (v) =>
    typeof v === "string" ? !v.isWellFormed()
      : Array.isArray(v) ? v.some(lone)
        : v && typeof v === "object" ? Object.keys(v).some((k) => !k.isWellFormed() || lone(v[k])) : false;
  if (n.ok && lone(n.value)) t.add("R8");
  return t;
}

export function compare(nodePath, rustPath, corpus) {
  const node = readLines(nodePath);
  const rust = readLines(rustPath);
  const counts = {};
  let unexplained = 0;
  let compared = 0;
  let pending = 0;
  for (const file of new Set([...node.keys(), ...rust.keys()])) {
    const n = node.get(file);
    const r = rust.get(file);
    if (!n || !r) {
      console.log(`MISSING ${file}: only in ${n ? "node" : "rust"} output`);
      unexplained++;
      continue;
    }
    const input = readFileSync(join(corpus, file));
    for (const key of ["eio_packet", "eio_payload", "sio", "ws_path", "msgpack", "redis_msgpack", "redis_json"]) {
      if (r[key] === "pending") { pending++; continue; }
      compared++;
      const nv = n[key];
      const rv = normalizeRust(key, r[key]);
      const same = nv === "skip" || rv === "skip"
        ? nv === rv
        : nv.ok === rv.ok && (!nv.ok || canonical(nv.value) === canonical(rv.value));
      if (same) continue;
      const id = classify(key, input, nv, rv);
      counts[id ?? "UNEXPLAINED"] = (counts[id ?? "UNEXPLAINED"] ?? 0) + 1;
      const show = (x) => { const s = JSON.stringify(x); return s.length > 300 ? s.slice(0, 300) + "…" : s; };
      if (!id) unexplained++;
      // B...: an open bug (DIVERGENCES.md, "Open bugs"): always shown, not a failure.
      const label = !id ? "UNEXPLAINED" : id.startsWith("B") ? `OPEN-BUG ${id}` : id;
      if (!id || id.startsWith("B") || process.env.VERBOSE) {
        console.log(`${label} ${file} [${key}] input=${show(text(input))}`);
        console.log(`    node: ${show(nv)}`);
        console.log(`    oxio: ${show(rv)}`);
      }
    }
  }
  console.log(`compared ${compared} decoder results over ${node.size} files` +
    (pending ? ` (${pending} msgpack results pending: no oxio_protocol::msgpack)` : ""));
  console.log(`disagreements by divergence id: ${JSON.stringify(counts)}`);
  return unexplained ? 1 : 0;
}

function text(buf) {
  const s = buf.toString("utf8");
  return s.length > 200 ? s.slice(0, 200) + `…(${buf.length} bytes)` : s;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [nodePath, rustPath, corpus] = process.argv.slice(2);
  if (!corpus) {
    console.error("usage: node compare.mjs <node.jsonl> <rust.jsonl> <corpus dir>");
    process.exitCode = 2;
  } else {
    process.exitCode = compare(nodePath, rustPath, corpus);
  }
}

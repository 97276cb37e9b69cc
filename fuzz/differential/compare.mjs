// Differential check, comparison: joins Node's and oxio's JSON lines by file, reports every decoder
// result on which they disagree (accept/reject, or decoded value), and classifies each disagreement by
// the divergences listed in ../DIVERGENCES.md (ids D1..., M1...) and its open bugs (B...). Returns 1
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
    // Open bug B2: integer map keys beyond 2^53 written exactly, not as String(key) of the number.
    const roundKeys = (v) => JSON.parse(JSON.stringify(v), function (_k, x) {
      if (!x || typeof x !== "object" || Array.isArray(x)) return x;
      const o = {};
      for (const k of Object.keys(x)) {
        const big = /^-?[0-9]{16,}$/.test(k) && Math.abs(Number(k)) > MAX_SAFE;
        o[big ? String(Number(k)) : k] = x[k];
      }
      return o;
    });
    if (canonical(roundKeys(r.value)) === canonical(n.value)) return "B2";
    const shown = (JSON.stringify(r.value.data ?? null).match(/"\$bin"/g) ?? []).length;
    if (r.value.attachments > shown) return "M5";
  }
  return null;
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
    for (const key of ["eio_packet", "eio_payload", "sio", "ws_path", "msgpack"]) {
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

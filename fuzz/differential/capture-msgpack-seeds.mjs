// Captures the binary messages of a real socket.io 4.8 session that uses socket.io-msgpack-parser
// 3.0 on both ends (server and socket.io-client in this process, over 127.0.0.1) and writes each
// distinct one as a seed of the msgpack_packet fuzz target. Run it where socket.io, socket.io-client
// and socket.io-msgpack-parser are installed (see capture-seeds.mjs):
//
//   node capture-msgpack-seeds.mjs /path/to/fuzz/corpus
import { createServer } from "node:http";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import * as parser from "engine.io-parser";
import customParser from "socket.io-msgpack-parser";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const corpus = process.argv[2];
if (!corpus) { console.error("usage: node capture-msgpack-seeds.mjs <fuzz/corpus dir>"); process.exit(2); }

const log = []; // {dir, frame: Buffer}
const http = createServer();
const io = new Server(http, { parser: customParser });
io.engine.on("connection", (socket) => {
  const rec = (dir) => (packet) => {
    if (packet.type === "message" && typeof packet.data !== "string") log.push({ dir, frame: Buffer.from(packet.data) });
  };
  socket.on("packet", rec("in"));
  socket.on("packetCreate", rec("out"));
});
io.on("connection", (s) => {
  s.on("hello", (...args) => { const ack = args.at(-1); if (typeof ack === "function") ack("ok", 2, { big: 2 ** 40, neg: -5, f: 1.5, nil: null }); });
  s.on("bin", (...args) => { const ack = args.at(-1); if (typeof ack === "function") ack(Buffer.from([9, 8]), { nested: [Buffer.from("é")] }); });
  s.on("go", async () => {
    s.emit("server-text", "hi", { n: 1 }, [1, 2.5, null, true], "é\"\\\n\u2028", "x".repeat(40), new Date(0));
    s.emit("server-bin", Buffer.from([1, 2, 3]), { deep: { buf: Buffer.alloc(0) } }, new Uint8Array([5]).buffer);
    const r = await s.emitWithAck("server-ask", 42);
    s.emit("done", r);
  });
});
const admin = io.of("/admin");
admin.use((s, next) => s.handshake.auth?.token === "abc" ? next() : next(Object.assign(new Error("not authorized"), { data: { code: 1 } })));
admin.on("connection", (s) => s.on("leave", () => s.disconnect()));

http.listen(3012, "127.0.0.1", async () => {
  const url = "http://127.0.0.1:3012";
  const opts = { parser: customParser, transports: ["websocket"] };
  const c = connect(url, opts);
  c.on("server-ask", (n, ack) => ack(n + 1, Buffer.from([1])));
  await new Promise((r) => c.on("connect", r));
  c.emit("plain", "text only", 1, { a: [1, 2] });
  console.log(await c.emitWithAck("hello", 1, "2", { a: 3 }));
  console.log(await c.emitWithAck("bin", Buffer.from([1, 2]), { x: Buffer.from([3]) }, [Buffer.from([4, 5, 6])]));
  const done = new Promise((r) => c.on("done", r));
  c.emit("go");
  await done;
  const bad = connect(url + "/admin", { ...opts, forceNew: true });
  await new Promise((r) => bad.on("connect_error", () => r()));
  bad.close();
  const a = connect(url + "/admin", { ...opts, auth: { token: "abc" } });
  await new Promise((r) => a.on("connect", r));
  a.emit("leave");
  await new Promise((r) => a.on("disconnect", r));
  const nsp = connect(url + "/nope", opts);
  await new Promise((r) => nsp.on("connect_error", () => r()));
  c.disconnect();
  await new Promise((r) => setTimeout(r, 200));

  const TYPES = ["connect", "disconnect", "event", "ack", "connect-error"];
  const seen = new Set();
  const names = new Map();
  mkdirSync(join(corpus, "msgpack_packet"), { recursive: true });
  for (const { dir, frame } of log) {
    const key = frame.toString("hex");
    if (seen.has(key)) continue;
    seen.add(key);
    let p;
    const d = new customParser.Decoder();
    d.on("decoded", (x) => (p = x));
    d.add(frame);
    let name = `seed-${TYPES[p.type]}-${dir === "in" ? "client" : "server"}`;
    if (p.nsp !== "/") name += "-nsp";
    if (p.id !== undefined) name += "-id";
    const n = (names.get(name) ?? 0) + 1;
    names.set(name, n);
    writeFileSync(join(corpus, "msgpack_packet", n > 1 ? `${name}-${n}` : name), frame);
  }
  io.close();
  process.exit(0);
});

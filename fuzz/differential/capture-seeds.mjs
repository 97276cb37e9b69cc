// Captures the traffic of a real socket.io 4.8 session (socket.io server and socket.io-client in this
// process, over 127.0.0.1) and writes it as seeds (seed-*) of the Socket.IO fuzz targets.
//
// The frames are recorded on the server's Engine.IO socket ("packet": from the client, "packetCreate":
// to it) and written as websocket frames with engine.io-parser's encodePacket. socket.io and
// socket.io-client are not dependencies of this directory; run it where they are installed:
//
//   mkdir -p /tmp/sio && cp capture-seeds.mjs /tmp/sio && cd /tmp/sio && npm init -y &&
//   npm install socket.io@4.8 socket.io-client@4.8 && node capture-seeds.mjs /path/to/fuzz/corpus
import { createServer } from "node:http";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import * as parser from "engine.io-parser";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const corpus = process.argv[2];
if (!corpus) { console.error("usage: node capture-seeds.mjs <fuzz/corpus dir>"); process.exit(2); }

const log = []; // {dir, transport, frame}
const http = createServer();
const io = new Server(http);
io.engine.on("connection", (socket) => {
  const rec = (dir) => (packet) =>
    parser.encodePacket(packet, true, (frame) =>
      log.push({ dir, transport: socket.transport.name,
        frame: typeof frame === "string" ? frame : Buffer.from(frame) }));
  socket.on("packet", rec("in"));
  socket.on("packetCreate", rec("out"));
});
io.on("connection", (s) => {
  s.on("hello", (...args) => { const ack = args.at(-1); if (typeof ack === "function") ack("ok", 2); });
  s.on("bin", (...args) => { const ack = args.at(-1); if (typeof ack === "function") ack(Buffer.from([9, 8]), { nested: [Buffer.from("é")] }); });
  s.on("plain", () => {});
  s.on("go", async () => {
    s.emit("server-text", "hi", { n: 1 }, [1, 2.5, null, true], "é\"\\\n\u2028");
    s.emit("server-bin", Buffer.from([1, 2, 3]), { deep: { buf: Buffer.alloc(0) } });
    const r = await s.emitWithAck("server-ask", 42);
    const rb = await s.emitWithAck("server-ask-bin", Buffer.from([7]));
    s.emit("done", r, rb.length);
  });
});
const admin = io.of("/admin");
admin.use((s, next) => s.handshake.auth?.token === "abc" ? next() : next(Object.assign(new Error("not authorized"), { data: { code: 1 } })));
admin.on("connection", (s) => {
  s.on("hello", (a, ack) => ack && ack());
  s.on("leave", () => s.disconnect());
});

http.listen(3011, "127.0.0.1", async () => {
  const url = "http://127.0.0.1:3011";
  const c = connect(url, { transports: ["polling", "websocket"] });
  c.on("server-ask", (n, ack) => ack(n + 1));
  c.on("server-ask-bin", (b, ack) => ack(Buffer.from([b[0], 1]), "x"));
  await new Promise((r) => c.on("connect", r));
  await new Promise((r) => c.io.engine.on("upgrade", r));
  c.emit("plain", "text only", 1, { a: [1, 2] });
  console.log(await c.emitWithAck("hello", 1, "2", { a: 3 }));
  console.log(await c.emitWithAck("bin", Buffer.from([1, 2]), { x: Buffer.from([3]) }, [Buffer.from([4, 5, 6])]));
  c.emit("bin", Buffer.from("no ack"));
  const done = new Promise((r) => c.on("done", (...a) => r(a)));
  c.emit("go");
  console.log(await done);
  const bad = connect(url + "/admin", { transports: ["websocket"], forceNew: false });
  await new Promise((r) => bad.on("connect_error", (e) => { console.log("refused", e.message, e.data); r(); }));
  const a = connect(url + "/admin", { auth: { token: "abc" } });
  await new Promise((r) => a.on("connect", r));
  console.log(await a.emitWithAck("hello", "from admin"));
  const nsp = connect(url + "/nope");
  await new Promise((r) => nsp.on("connect_error", (e) => { console.log("nope", e.message); r(); }));
  a.emit("leave");
  await new Promise((r) => a.on("disconnect", r));
  c.disconnect();
  await new Promise((r) => setTimeout(r, 200));
  writeSeeds(log);
  io.close();
  process.exit(0);
});

// ---- seeds -------------------------------------------------------------------------------------------

const TYPES = ["connect", "disconnect", "event", "ack", "connect-error", "binary-event", "binary-ack"];
const transcript = (frames) =>
  "#oxio-frames\n" +
  frames.map((f) => (typeof f === "string" ? `t ${JSON.stringify(f)}\n` : `b ${Buffer.from(f).toString("hex")}\n`)).join("");

function writeSeeds(log) {
  const write = (target, name, data) => {
    mkdirSync(join(corpus, target), { recursive: true });
    writeFileSync(join(corpus, target, name), data);
  };
  // Socket.IO level: the text of each message, and the attachments.
  const sio = log
    .filter((e) => typeof e.frame !== "string" || e.frame.startsWith("4"))
    .map((e) => ({ ...e, sio: typeof e.frame === "string" ? e.frame.slice(1) : e.frame }));
  const names = new Map();
  const seen = new Set();
  for (const e of sio) {
    if (typeof e.sio !== "string" || seen.has(e.sio)) continue;
    seen.add(e.sio);
    const m = /^(\d)(\d+-)?(\/[^,]*,)?(\d+)?(.*)$/s.exec(e.sio);
    let name = `seed-${TYPES[Number(m[1])]}-${e.dir === "in" ? "client" : "server"}`;
    if (m[3]) name += "-nsp";
    if (m[4]) name += "-id";
    if (m[5]) name += "-data";
    const n = (names.get(name) ?? 0) + 1;
    names.set(name, n);
    write("socket_io_packet", n > 1 ? `${name}-${n}` : name, e.sio);
  }
  for (const dir of ["in", "out"]) {
    const who = dir === "in" ? "client" : "server";
    const own = sio.filter((e) => e.dir === dir);
    write("socket_io_reassembly", `seed-session-${who}`, transcript(own.map((e) => e.sio)));
    write("socket_io_roundtrip", `seed-session-${who}`, transcript(own.map((e) => e.sio)));
    write("websocket_message_path", `seed-session-${who}`,
      transcript(log.filter((e) => e.dir === dir).map((e) => e.frame)));
    // Each binary packet with its attachments.
    own.forEach((e, i) => {
      const m = typeof e.sio === "string" && /^[56](\d+)-/.exec(e.sio);
      if (!m) return;
      const parts = own.slice(i, i + 1 + Number(m[1]));
      const name = `seed-${e.sio[0] === "5" ? "binary-event" : "binary-ack"}-${who}-${m[1]}-${i}`;
      write("socket_io_reassembly", name, transcript(parts.map((p) => p.sio)));
      write("websocket_message_path", name, transcript(parts.map((p) => p.frame)));
    });
  }
}

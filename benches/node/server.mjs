// The bench contract (shared/bench-contract.md) on Node socket.io 4.8, for side-by-side benchmarks.
//
//   PORT=3000 [REDIS_URL=redis://127.0.0.1:6379] node server.mjs
//
// Main namespace, default path, perMessageDeflate off, default ping settings, no logging per message.
// REDIS_URL switches on @socket.io/redis-adapter (classic pub/sub) for the cluster scenario.
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || "127.0.0.1";

const httpServer = createServer();
const io = new Server(httpServer, { perMessageDeflate: false });

if (process.env.REDIS_URL) {
  const { createClient } = await import("redis");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const pubClient = createClient({ url: process.env.REDIS_URL });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient));
}

io.on("connection", (socket) => {
  const room = socket.handshake.auth?.room;
  if (room !== undefined && room !== null) socket.join(String(room));

  socket.on("echo", (data, ack) => {
    if (typeof ack === "function") ack(data);
    else socket.emit("echo", data);
  });
  socket.on("bcast", (data) => io.emit("msg", data));
  socket.on("room", (room, data) => io.to(room).emit("msg", data));
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
});

httpServer.listen(port, host, () => {
  console.error(`node socket.io ${process.env.REDIS_URL ? "(redis adapter) " : ""}on ${host}:${port}`);
});

// The CONNECT auth payload and connect middlewares: auth and query reach the handshake; a refusing
// middleware gives connect_error with its message and data; an allowing one lets the socket in.
// usage: node auth.mjs <url> <mode>
import { io } from "socket.io-client";
import {
  Inbox,
  connectError,
  connected,
  deadline,
  emit,
  finish,
  options,
  reportTransport,
  url,
} from "./common.mjs";

deadline();

async function handshake(name, nsp, extra) {
  const socket = io(url + nsp, options(extra));
  const inbox = new Inbox(socket, "handshake");
  await connected(socket);
  const [data] = await inbox.next();
  emit({ event: "handshake", case: name, id: socket.id, data });
  return socket;
}

async function refused(name, nsp, extra) {
  const socket = io(url + nsp, options(extra));
  const error = await connectError(socket);
  emit({ event: "connect_error", case: name, ...error, connected: socket.connected });
}

const sockets = [];
sockets.push(
  await handshake("auth", "/", {
    auth: { token: "abc", nested: { n: 1, list: [true, null] } },
    query: { room: "lobby ✓" },
  }),
);
sockets.push(await handshake("no-auth", "/", {}));
await refused("wrong-token", "/guarded", { auth: { token: "wrong" } });
await refused("no-data", "/closed", {});
sockets.push(await handshake("allowed", "/guarded", { auth: { token: "let-me-in" } }));

reportTransport(sockets[0]);
for (const socket of sockets) socket.disconnect();
await finish();

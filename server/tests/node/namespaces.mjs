// Namespaces over one connection: "/", "/custom", two children of the dynamic namespace, and two
// invalid names; then a broadcast from the dynamic parent.
// usage: node namespaces.mjs <url> <mode>
import {
  Inbox,
  connectError,
  connected,
  deadline,
  emit,
  finish,
  manager,
  reportTransport,
  request,
} from "./common.mjs";

deadline();
const io = manager();
const names = ["/", "/custom", "/dynamic-1", "/dynamic-2"];
const sockets = {};
const fromParent = {};
for (const nsp of names) {
  const socket = io.socket(nsp);
  const welcome = new Inbox(socket, "welcome");
  fromParent[nsp] = new Inbox(socket, "from-parent");
  await connected(socket);
  const [hello] = await welcome.next();
  sockets[nsp] = socket;
  emit({ event: "socket", nsp, id: socket.id, engine: io.engine.id, welcome: hello });
}

for (const nsp of ["/nope", "/dynamic-x"]) {
  const error = await connectError(io.socket(nsp));
  emit({ event: "connect_error", nsp, ...error });
}
// Every socket still works after the refusals.
for (const nsp of names) emit({ event: "ping", nsp, answer: await request(sockets[nsp], "ping") });

// The dynamic parent emits to every child; the ack carries its socket count.
const [count] = await request(sockets["/dynamic-1"], "parent-emit");
// One connection, packets in order: after these round trips, anything sent before has arrived.
for (const nsp of names) await request(sockets[nsp], "ping");
const received = {};
for (const nsp of names) received[nsp] = fromParent[nsp].items;
emit({ event: "parent-emit", count, received });

reportTransport(sockets["/"]);
for (const socket of Object.values(sockets)) socket.disconnect();
await finish();

// fetch_sockets, sockets_join, sockets_leave and disconnect_sockets (with and without close) on
// rooms. Three clients, each on its own connection with a socket on "/" and one on "/other":
// A in r1, B in r1 and r2, C in r2. They ask the server for each operation ("op", acked).
// usage: node server_api.mjs <url> <mode>
import {
  connected,
  deadline,
  emit,
  finish,
  manager,
  reportTransport,
  request,
} from "./common.mjs";

deadline(10000);
const rooms = { A: ["r1"], B: ["r1", "r2"], C: ["r2"] };
const clients = {};
for (const [name, list] of Object.entries(rooms)) {
  const io = manager();
  const main = await connected(io.socket("/", { auth: { name, rooms: list } }));
  const other = await connected(io.socket("/other"));
  const client = { main, other, msgs: [], reasons: { main: [], other: [] } };
  main.on("msg", (tag) => client.msgs.push(tag));
  main.on("disconnect", (reason) => client.reasons.main.push(reason));
  other.on("disconnect", (reason) => client.reasons.other.push(reason));
  clients[name] = client;
  emit({ event: "client", name, main: main.id, other: other.id, engine: io.engine.id });
}
const { A, B, C } = clients;

async function op(socket, name, spec) {
  const [answer] = await request(socket, "op", name, spec);
  emit({ event: "op", step: steps++, op: name, spec, answer });
}
let steps = 0;

await op(A.main, "fetch", { rooms: ["r1"] });
await op(A.main, "fetch", {});
await op(A.main, "fetch", { except: ["r2"] });
await op(A.main, "fetch", { rooms: ["r1", "r2"] });
await op(A.main, "join", { rooms: ["r1"], join: ["r3", "r4"] });
await op(A.main, "fetch", { rooms: ["r3"] });
await op(A.main, "emit", { rooms: ["r3"], tag: "to-r3" });
await op(A.main, "leave", { rooms: ["r2"], leave: "r1" });
await op(A.main, "fetch", {});
await op(A.main, "fetch-io", {});

// Without close: the "/" sockets of B and C go, their "/other" sockets stay.
const gone = [B.main, C.main].map((s) => new Promise((resolve) => s.once("disconnect", resolve)));
await op(C.other, "disconnect", { rooms: ["r2"], close: false });
await Promise.all(gone);
await op(C.other, "fetch", {});
emit({ event: "still-connected", B: await request(B.other, "ping"), C: await request(C.other, "ping") });

// With close: A's whole connection goes, its "/other" socket (in no room of "/") included.
const closed = [A.main, A.other].map((s) => new Promise((resolve) => s.once("disconnect", resolve)));
await op(C.other, "disconnect", { rooms: ["r1"], close: true });
await Promise.all(closed);
await op(C.other, "fetch", {});

for (const [name, client] of Object.entries(clients)) {
  emit({
    event: "received",
    name,
    msgs: client.msgs,
    reasons: client.reasons,
    connected: { main: client.main.connected, other: client.other.connected },
  });
}
reportTransport(C.other);
B.other.disconnect();
C.other.disconnect();
await finish();

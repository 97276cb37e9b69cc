// Rooms and broadcast operators. Four clients, each on its own connection: A in r1, B in r1 and r2,
// C in r2, D in none. One of them asks the server for each operation in turn ("op", acked); every
// client records the "msg" events it gets and answers "survey" acks (all but D). A final io.emit
// ("end") comes after everything else on every connection.
// usage: node broadcast.mjs <url> <mode>
import {
  connect,
  deadline,
  emit,
  finish,
  reportTransport,
  request,
} from "./common.mjs";

deadline(10000);
const rooms = { A: ["r1"], B: ["r1", "r2"], C: ["r2"], D: [] };
const clients = {};
for (const [name, list] of Object.entries(rooms)) {
  const socket = await connect("/", { auth: { name, rooms: list } });
  const client = { socket, msgs: [], surveys: [] };
  socket.on("msg", (tag) => client.msgs.push(tag));
  socket.on("survey", (tag, cb) => {
    client.surveys.push(tag);
    if (name !== "D") cb(name);
  });
  client.end = new Promise((resolve) => socket.once("end", resolve));
  clients[name] = client;
}

const ops = [
  ["A", "to-r1"],
  ["A", "in-r2"],
  ["A", "to-r1-r2"],
  ["A", "to-r1-r2-r1"],
  ["A", "except-r1"],
  ["A", "to-r2-except-r1"],
  ["A", "socket-broadcast"],
  ["B", "socket-to-r1"],
  ["B", "socket-to-r1-r2"],
  ["A", "socket-except-r2"],
  ["A", "io-emit"],
  ["A", "volatile"],
  ["D", "to-id", clients.C.socket.id],
  ["A", "local-compress"],
  ["D", "survey-r1"],
  ["D", "survey-all"],
  ["A", "end"],
];
for (const [sender, op, arg] of ops) {
  const answer = await request(clients[sender].socket, "op", op, arg ?? null);
  emit({ event: "op", op, answer });
}
for (const [name, client] of Object.entries(clients)) {
  await client.end;
  emit({ event: "received", name, id: client.socket.id, msgs: client.msgs, surveys: client.surveys });
}

reportTransport(clients.A.socket);
for (const client of Object.values(clients)) client.socket.disconnect();
await finish();

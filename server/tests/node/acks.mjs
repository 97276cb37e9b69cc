// Acks both ways: the client's emits with a callback answered by the server (JSON, binary, no
// arguments), the server's emit_with_ack answered by the client (JSON, binary), not answered (server
// timeout), a client-side timeout against a server that never acks, and a pending server ack
// settled by the client's disconnect.
// usage: node acks.mjs <url> <mode>
import {
  Inbox,
  connect,
  deadline,
  describe,
  emit,
  finish,
  reportTransport,
  sleep,
} from "./common.mjs";

deadline();
const socket = await connect("/");

function withCallback(event, ...args) {
  return new Promise((resolve) => socket.emit(event, ...args, (...answer) => resolve(answer)));
}

emit({ event: "ack", case: "sum", args: describe(await withCallback("sum", 1, 2, 3)) });
emit({
  event: "ack",
  case: "binary",
  args: describe(await withCallback("reverse", Buffer.from([1, 2, 3]), "x")),
});
emit({ event: "ack", case: "empty", args: describe(await withCallback("empty")) });

// The server asks; this client answers "question" and "question-bin", never "ignored".
socket.on("question", (a, b, cb) => cb({ answer: a + b }, "extra"));
socket.on("question-bin", (bytes, cb) => cb(Buffer.from([...bytes].reverse()), bytes.length));
const ignored = new Inbox(socket, "ignored");
emit({ event: "ack", case: "ask", args: describe(await withCallback("ask")) });
emit({ event: "ignored", args: describe(await ignored.next()) });

// A client-side timeout: the server's handler never acks.
const started = Date.now();
const timedOut = await new Promise((resolve) =>
  socket.timeout(200).emit("never-acked", 1, (err, ...answer) => resolve({ err, answer })),
);
emit({
  event: "client-timeout",
  message: timedOut.err?.message ?? null,
  answer: timedOut.answer,
  waited: Date.now() - started >= 190,
});
// A late ack would arrive here; the server never sends one.
await sleep(100);

// The server waits for an ack ("ignored" again); this client disconnects instead.
socket.emit("ask-then-wait");
await ignored.next();
reportTransport(socket);
socket.disconnect();
await finish();

// on_any, on_any_outgoing, use_packet and on_error: the client emits accepted and rejected events;
// the server reports errors with "error-seen".
// usage: node hooks.mjs <url> <mode>
import {
  Inbox,
  connect,
  deadline,
  describe,
  emit,
  finish,
  reportTransport,
  request,
} from "./common.mjs";

deadline();
const socket = await connect("/");
const received = [];
socket.onAny((event, ...args) => received.push([event, ...describe(args)]));
const errors = new Inbox(socket, "error-seen");

emit({ event: "ack", case: "hello", answer: await request(socket, "hello", 1) });
socket.emit("forbidden", 2);
emit({ event: "error", case: "forbidden", args: await errors.next() });
socket.emit("checked", 2);
emit({ event: "error", case: "checked-2", args: await errors.next() });
emit({ event: "ack", case: "checked-1", answer: await request(socket, "checked", 1) });
socket.emit("unhandled", 3, Buffer.from([7]));
emit({ event: "ack", case: "sync", answer: await request(socket, "sync") });
emit({ event: "ack", case: "late", answer: await request(socket, "late") });
emit({ event: "received", events: received });

reportTransport(socket);
socket.disconnect();
await finish();

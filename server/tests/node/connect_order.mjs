// An event emitted from the "connect" listener reaches the listener the server's connection handler
// registers, even when that handler first wakes another connection (a broadcast) and takes its time
// before it registers: on "/" (no middleware) and on "/gated" (an async middleware first).
// usage: node connect_order.mjs <url> <mode>
import { io } from "socket.io-client";
import { connect, deadline, emit, finish, options, url } from "./common.mjs";

deadline();
// Another connection, which the connection handlers broadcast to.
await connect("/bystander");

function helloOnConnect(nsp) {
  const socket = io(url + nsp, options());
  return new Promise((resolve, reject) => {
    socket.once("connect_error", reject);
    socket.once("connect", () => socket.emit("hello", nsp, (answer) => resolve(answer)));
  });
}

for (const nsp of ["/", "/gated"]) {
  emit({ event: "answer", nsp, answer: await helloOnConnect(nsp) });
}
await finish();

// The msgpack parser end to end: socket.io-client with socket.io-msgpack-parser against a server
// configured with Parser::Msgpack. Usage: node msgpack.mjs <url> <transport>; prints one JSON line.
import { io } from "socket.io-client";
import parser from "socket.io-msgpack-parser";

const [url, transport] = process.argv.slice(2);
const timer = setTimeout(() => {
  console.log(JSON.stringify({ error: "timed out" }));
  process.exit(1);
}, 8000);
const transports = transport === "upgrade" ? ["polling", "websocket"] : [transport];
const socket = io(url, { parser, transports, auth: { token: "abc" } });
const once = (event) => new Promise((resolve) => socket.once(event, resolve));

const [auth] = await Promise.all([once("auth"), once("connect")]);
const echoed = await new Promise((resolve) =>
  socket.emit("echo", { n: 1.5, s: "é" }, Buffer.from([1, 2, 3]), (...args) => resolve(args)),
);
const pushed = new Promise((resolve) => socket.once("push", (...args) => resolve(args)));
socket.emit("push-me");
const [text, binary] = await pushed;
const custom = io(url + "/custom", { parser, transports, forceNew: true });
const customError = await new Promise((resolve) => custom.once("connect_error", (e) => resolve(e.message)));
clearTimeout(timer);
console.log(
  JSON.stringify({
    auth,
    echoed: [echoed[0], [...echoed[1]]],
    pushed: [text, [...binary]],
    customError,
  }),
);
socket.close();
custom.close();
process.exit(0);

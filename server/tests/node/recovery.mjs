// Connection state recovery with the real socket.io-client: a client that loses its connection
// gets back its id, its rooms, and the broadcasts it missed (and not those of other rooms).
// Usage: node recovery.mjs <url> <polling|websocket|upgrade>; prints one JSON line.
import { io } from "socket.io-client";

const [url, mode] = process.argv.slice(2);
const transports = mode === "upgrade" ? ["polling", "websocket"] : [mode];
const timer = setTimeout(() => fail("timed out"), 10000);
function fail(reason) {
  console.log(JSON.stringify({ error: reason }));
  process.exit(1);
}
const once = (socket, event) => new Promise((resolve) => socket.once(event, resolve));

const options = { transports, reconnectionDelay: 400, reconnectionDelayMax: 400 };
const subject = io(url, { ...options, auth: { room: "room-a" } });
const publisher = io(url, { ...options, auth: { room: "room-p" } });
const received = [];
subject.on("msg", (value) => received.push(value));

await Promise.all([once(subject, "connect"), once(publisher, "connect")]);
const firstId = subject.id;
const firstRecovered = subject.recovered;
publisher.emit("bcast", "before");
while (!received.includes("before")) await new Promise((r) => setTimeout(r, 10));

// Drop the connection as a network failure would (not a clean disconnect).
const disconnected = once(subject, "disconnect");
subject.io.engine.close();
await disconnected;
await new Promise((r) => setTimeout(r, 100));
publisher.emit("bcast", "missed-all");
publisher.emit("room", "room-a", "missed-room-a");
publisher.emit("room", "room-b", "not-for-me");
await new Promise((r) => setTimeout(r, 100));

await once(subject, "connect");
await new Promise((r) => setTimeout(r, 200));
clearTimeout(timer);
console.log(
  JSON.stringify({
    firstRecovered,
    recovered: subject.recovered,
    sameId: subject.id === firstId,
    received,
  }),
);
subject.close();
publisher.close();
process.exit(0);

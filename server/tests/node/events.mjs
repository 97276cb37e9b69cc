// Events both ways: JSON arguments (several, nested, unicode, none), binary arguments (top level and
// nested) echoed by the server, binary arguments the server builds, and a burst kept in order.
// usage: node events.mjs <url> <mode>
import {
  Inbox,
  connect,
  deadline,
  describe,
  emit,
  finish,
  pattern,
  reportTransport,
} from "./common.mjs";

deadline();
const socket = await connect("/");
const echo = new Inbox(socket, "echo");
const gift = new Inbox(socket, "gift");
const inspected = new Inbox(socket, "inspected");

async function roundTrip(name, ...args) {
  socket.emit("echo", ...args);
  const back = await echo.next();
  emit({ event: "echo", case: name, args: describe(back) });
}

await roundTrip("json", 1, "two", { three: [3, "drei"], "ü": null }, [true, false], -1.5);
await roundTrip("unicode", "héllo ✓ 🦀", { "clé 🔑": "välue" });
await roundTrip("none");
await roundTrip("binary", Buffer.from([1, 2, 3]), { nested: Buffer.from([4, 5]), list: [Buffer.from([6])] }, "tail");
await roundTrip("large-binary", pattern(3000));
await roundTrip("empty-binary", Buffer.alloc(0), "after");

socket.emit("inspect", "a", Buffer.from([9, 8, 7]), { x: Buffer.from([255]) }, 42);
emit({ event: "inspected", args: describe(await inspected.next()) });

socket.emit("gift-please");
emit({ event: "gift", args: describe(await gift.next()) });

// A burst: every event sent at once (one polling POST may carry them all) comes back in order.
for (let i = 0; i < 30; i++) socket.emit("echo", i, i % 3 === 0 ? Buffer.from([i]) : `n${i}`);
const burst = [];
for (let i = 0; i < 30; i++) burst.push(describe(await echo.next()));
emit({ event: "burst", args: burst });

reportTransport(socket);
socket.disconnect();
await finish();

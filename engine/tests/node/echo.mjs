// Echo round trip: text and binary both ways, server-initiated messages, a burst of packets sent at
// once (one polling POST carries them all), then the client closes.
// usage: node echo.mjs <url> <polling|websocket|upgrade>
import { deadline, emit, finish, open, pattern } from "./common.mjs";

deadline(10000);
const mode = process.argv[3];
const { socket, inbox } = await open(mode);

async function roundTrip(data) {
  socket.send(data);
  await inbox.expect("message");
}

await roundTrip("hello");
await roundTrip("héllo ✓ 🦀");
await roundTrip("");
await roundTrip(pattern(256));
await roundTrip(new Uint8Array([1, 2, 3]).buffer);
await roundTrip("send-large:5000");
await roundTrip("send-binary:300");
await roundTrip("transport?");

const burst = ["a", pattern(10), "b", Buffer.alloc(0), "c"];
for (const data of burst) socket.send(data);
for (let i = 0; i < burst.length; i++) await inbox.expect("message");

emit({ event: "transport", name: socket.transport.name });
socket.close();
await inbox.expect("close");
await finish();

// Sends one message of a given size and prints what comes back: the echo, or the close.
// usage: node max_payload.mjs <url> <polling|websocket|upgrade> <text|binary> <size>
import { deadline, emit, finish, open, pattern } from "./common.mjs";

deadline(10000);
const [mode, kind, size] = process.argv.slice(3);
const { socket, inbox } = await open(mode);
socket.send(kind === "text" ? "a".repeat(Number(size)) : pattern(Number(size)));
const item = await inbox.next();
emit(item);
if (item.event === "message") {
  socket.close();
  await inbox.expect("close");
}
await finish();

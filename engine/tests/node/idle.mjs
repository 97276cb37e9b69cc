// Stays connected for a while (answering the server's pings, as the client does), then checks that
// the session still echoes, and closes.
// usage: node idle.mjs <url> <polling|websocket|upgrade> <milliseconds>
import { deadline, emit, finish, open, sleep } from "./common.mjs";

deadline(10000);
const [mode, ms] = process.argv.slice(3);
const { socket, inbox } = await open(mode);
let pings = 0;
socket.on("ping", () => pings++);
await sleep(Number(ms));
emit({ event: "pings", count: pings });
socket.send("still-here");
await inbox.expect("message");
socket.close();
await inbox.expect("close");
await finish();

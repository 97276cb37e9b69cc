// Asks the server to close the session ("server-close": the server sends "closing", then closes)
// and prints what the client sees.
// usage: node server_close.mjs <url> <polling|websocket|upgrade>
import { deadline, finish, open } from "./common.mjs";

deadline(10000);
const { socket, inbox } = await open(process.argv[3]);
socket.send("server-close");
await inbox.expect("message");
await inbox.expect("close");
await finish();

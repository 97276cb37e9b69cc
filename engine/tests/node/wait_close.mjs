// Connects, then waits for the server to close the session and prints the close.
// usage: node wait_close.mjs <url> <polling|websocket|upgrade>
import { deadline, finish, open } from "./common.mjs";

deadline(10000);
const { inbox } = await open(process.argv[3]);
await inbox.expect("close");
await finish();

// Ways to end sockets. Each case opens its own connection with a socket on "/" and one on
// "/other", then:
// - client: "/" disconnects itself ("/other" keeps working);
// - server: the server disconnects "/" ("/other" keeps working);
// - forced: the server disconnects "/other" with close (the whole connection);
// - transport: the client closes its Engine.IO connection;
// - shutdown: the server shuts down (run after every other case has ended);
// - idle: waits to be killed.
// The cases but shutdown run concurrently. Every event carries its case.
// usage: node disconnect.mjs <url> <mode> <case>...
import {
  args,
  connected,
  deadline,
  disconnected,
  emit,
  finish,
  manager,
  reportTransport,
  request,
  sleep,
} from "./common.mjs";

deadline();

async function open(scenario) {
  const io = manager();
  const main = await connected(io.socket("/"));
  const other = await connected(io.socket("/other"));
  const reasons = { main: [], other: [] };
  main.on("disconnect", (reason) => reasons.main.push(reason));
  other.on("disconnect", (reason) => reasons.other.push(reason));
  emit({ event: "ids", case: scenario, main: main.id, other: other.id });
  reportTransport(main);
  return { io, main, other, reasons };
}

async function run(scenario) {
  const { io, main, other, reasons } = await open(scenario);
  const both = () => Promise.all([disconnected(main), disconnected(other)]);
  switch (scenario) {
    case "client":
      main.disconnect();
      emit({ event: "other", case: scenario, answer: await request(other, "ping") });
      break;
    case "server": {
      const gone = disconnected(main);
      main.emit("kick");
      await gone;
      emit({ event: "other", case: scenario, answer: await request(other, "ping") });
      break;
    }
    case "forced": {
      const gone = both();
      other.emit("kick-close");
      await gone;
      break;
    }
    case "transport": {
      const gone = both();
      io.engine.close();
      await gone;
      break;
    }
    case "shutdown": {
      const gone = both();
      main.emit("shutdown");
      await gone;
      break;
    }
    case "idle":
      emit({ event: "ready", case: scenario });
      await sleep(60000);
      break;
    default:
      throw new Error(`unknown case ${scenario}`);
  }
  // A second disconnect of the same socket would come soon after the first.
  await sleep(150);
  emit({ event: "reasons", case: scenario, ...reasons });
  if (other.connected) other.disconnect();
}

await Promise.all(args.filter((c) => c !== "shutdown").map(run));
if (args.includes("shutdown")) await run("shutdown");
await finish();

// socket.io-client sockets connected to the servers of a cluster, reporting every event they get.
// Driven by test-support/src/node.rs (`NodeClients`).
//
// usage: node clients.mjs '<config JSON>'   (or the JSON in $OXIO_CLIENTS_CONFIG)
// config: {
//   clients: [{url: "http://127.0.0.1:3000", nsp: "/", auth: {…}, query: {…},
//              transports: ["websocket"]}, …],      one socket each, on its own connection
//   ack: "ack-from-{i}",                            the answer to events that carry an ack
//                                                   ({i} = client index); null: never answer
//   connectTimeout: 10000
// }
// Default transports: ["websocket"].
//
// Lines printed on stdout:
//   {"event":"connected","ids":[…]}                  every socket is connected (ids by index)
//   {"client":i,"event":name,"args":[…],"ack":bool}   an event got by client i (binary as $bin);
//                                                     "disconnect" (args [reason]) is reported too
//   {"event":"fail","message"}                        setup failed; the script exits with status 1
//   {"id","ok","result"|"error"}                      the answer to a command
// Commands (stdin):
//   {"id","op":"emit","client":i?,"event","args":[…],"timeout":ms?}
//        emits from client i (every client when absent). With `timeout`: emits with an ack and
//        answers [{client, error, response}]; otherwise answers null.
//   {"id","op":"disconnect","client":i?}   disconnects client i (every client when absent)
//   {"id","op":"ids"}                      the current socket ids (null when disconnected)
//   {"id","op":"exit"}
import { io } from "socket.io-client";
import { fromWire, print, readConfig, serveCommands, toWire } from "./common.mjs";

function fail(error) {
  print({ event: "fail", message: String(error?.stack ?? error) });
  process.exit(1);
}
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

const config = readConfig("OXIO_CLIENTS_CONFIG");
const ackTemplate = config.ack === undefined ? "ack-from-{i}" : config.ack;

const sockets = config.clients.map((spec, i) => {
  const socket = io(spec.url + (spec.nsp ?? "/"), {
    forceNew: true,
    reconnection: false,
    timeout: config.connectTimeout ?? 10000,
    transports: spec.transports ?? ["websocket"],
    auth: spec.auth ?? {},
    query: spec.query ?? {},
  });
  socket.onAny((event, ...args) => {
    const callback = typeof args.at(-1) === "function" ? args.pop() : null;
    print({ client: i, event, args: toWire(args), ack: callback !== null });
    if (callback && ackTemplate !== null) {
      callback(typeof ackTemplate === "string" ? ackTemplate.replaceAll("{i}", String(i)) : ackTemplate);
    }
  });
  socket.on("disconnect", (reason) => print({ client: i, event: "disconnect", args: [reason], ack: false }));
  return socket;
});

await Promise.all(sockets.map((socket, i) => new Promise((resolve, reject) => {
  socket.once("connect", resolve);
  socket.once("connect_error", (error) => reject(new Error(`client ${i}: connect_error ${error.message}`)));
}))).catch(fail);
print({ event: "connected", ids: sockets.map((s) => s.id) });

/** The sockets a command addresses: `client` or every one. */
function targets(command) {
  if (command.client === undefined) return sockets.map((socket, i) => [socket, i]);
  const socket = sockets[command.client];
  if (!socket) throw new Error(`no client ${command.client}`);
  return [[socket, command.client]];
}

const ops = {
  emit: (c) => {
    const args = fromWire(c.args ?? []);
    if (c.timeout === undefined) {
      for (const [socket] of targets(c)) socket.emit(c.event, ...args);
      return null;
    }
    return Promise.all(targets(c).map(([socket, i]) => new Promise((resolve) => {
      socket.timeout(c.timeout).emit(c.event, ...args, (error, response) =>
        resolve({ client: i, error: error ? error.message : null, response: toWire(response) }));
    })));
  },
  disconnect: (c) => {
    for (const [socket] of targets(c)) socket.disconnect();
    return null;
  },
  ids: () => sockets.map((s) => s.id ?? null),
  exit: () => {
    setTimeout(() => {
      for (const socket of sockets) socket.disconnect();
      setTimeout(() => process.exit(0), 50);
    }, 10);
    return null;
  },
};

serveCommands(async (command) => {
  const run = ops[command.op];
  if (!run) throw new Error(`unknown op ${command.op}`);
  return run(command);
});

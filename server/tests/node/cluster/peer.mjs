// A Node socket.io server with @socket.io/redis-adapter, one member of the mixed clusters of the
// interop tests. Driven by test-support/src/node.rs (`NodePeer`).
//
// usage: node peer.mjs '<config JSON>'   (or the JSON in $OXIO_PEER_CONFIG)
// config: {
//   name: "A",                      socket.data.peer of its sockets (default "node")
//   port: 0,                        0 = a free port, reported in the ready line
//   redis: "redis://127.0.0.1:6379" a single server, or
//   cluster: ["redis://…", …],      the seed nodes of a Redis Cluster
//   client: "redis" | "ioredis",    Redis client library (default node-redis 4)
//   mode: "classic" | "sharded",    createAdapter or createShardedAdapter (default classic)
//   adapter: {…},                   adapter options (key, requestsTimeout,
//                                   publishOnSpecificResponseChannel, channelPrefix, subscriptionMode)
//   namespaces: ["/admin"],         created at start besides "/"
//   listen: [{nsp, event, ack}],    server-side event handlers to register at start (see `listen`)
//   server: {…}                     extra socket.io Server options
// }
//
// Auth of a connecting client: socket.data = {peer: name, ...auth}; `auth.join` (array of rooms)
// is joined before the client gets its CONNECT answer.
//
// Lines printed on stdout:
//   {"event":"ready","port":N,"uids":{"/":"<adapter uid>",…},"pid"}  listening and subscribed
//   {"event":"connection","nsp","id","rooms"}   {"event":"disconnect","nsp","id","reason"}
//   {"event":"serverSideEmit","nsp","name","args","ack":bool}          a server-side event arrived
//   {"event":"crash","message","stack"}         uncaught exception/rejection; then exits 1
//   {"id","ok":true,"result"} / {"id","ok":false,"error":"<message>"}  the answer to a command
//
// Commands, one JSON line each on stdin: {"id", "op", …}. `nsp` defaults to "/" (an unknown one is
// created). `to`/`except` are room lists; `flags` = {volatile, compress, local, timeout}. Args use
// the $bin/$date tags of common.mjs. Answers (`result`):
//   ping                                          {"event":"alive"}
//   namespace {nsp}                               null (creates it)
//   emit {nsp,to,except,flags,event,args}         null
//   emitWithAck {…as emit}                        {error, responses} (flags.timeout default 5000)
//   fetchSockets {nsp,to,except,flags}            [{id, rooms, data, handshake}]
//   allRooms {nsp}                                sorted rooms of the cluster (classic mode only)
//   localRooms {nsp}                              sorted rooms of this peer's adapter
//   serverCount {nsp}                             adapter.serverCount()
//   socketsJoin / socketsLeave {nsp,to,except,flags,rooms}     null
//   disconnectSockets {nsp,to,except,flags,close}              null
//   serverSideEmit {nsp,event,args}               null
//   serverSideEmitWithAck {nsp,event,args}        {error, responses}
//   listen {nsp,event,ack?}                       null; handler records calls and, when `ack` is
//                                                 given, acks with it (again: updates `ack`)
//   received {nsp?,event?,clear?}                 [{nsp, event, args, ack}] recorded so far
//   socketJoin / socketLeave {nsp,socket,rooms}   the socket's rooms afterwards
//   socketEmit {nsp,socket,flags,event,args}      null; with flags.timeout: {error, response}
//   socketBroadcast {nsp,socket,to,except,flags,event,args}    null (socket.broadcast…)
//   socketTo {nsp,socket,to,except,flags,event,args}           null (socket.to(to)…)
//   connections {nsp?}                            [{id, nsp, rooms, data}] local sockets
//   publishRaw {channel, base64|text, sharded?}   receiver count (PUBLISH / SPUBLISH on pubClient)
//   exit                                          null, then closes everything and exits 0
// An answer is printed only after Redis confirmed every (S/P)SUBSCRIBE issued so far: a room
// joined by a command has its dynamic sharded channel subscribed when the answer arrives.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { fromWire, print, readConfig, serveCommands, toWire } from "./common.mjs";

function crash(error) {
  print({ event: "crash", message: String(error?.message ?? error), stack: error?.stack ?? null });
  process.exit(1);
}
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);

const config = readConfig("OXIO_PEER_CONFIG");
const name = config.name ?? "node";
const mode = config.mode ?? "classic";
if (mode !== "classic" && mode !== "sharded") throw new Error(`unknown mode ${mode}`);

// ---- Redis clients ------------------------------------------------------------------------------

/** The promises of every subscribe call the adapter makes (drained by `subscribed()`). */
const pendingSubscriptions = [];

/** Wraps the subscribe methods of `client` so that their promises land in pendingSubscriptions. */
function trackSubscriptions(client) {
  for (const method of ["subscribe", "pSubscribe", "sSubscribe", "psubscribe", "ssubscribe"]) {
    const original = client[method];
    if (typeof original !== "function") continue;
    client[method] = function (...args) {
      const result = original.apply(this, args);
      if (typeof result?.then === "function") pendingSubscriptions.push(result);
      return result;
    };
  }
}

/** Resolves once Redis has confirmed every subscription requested so far. */
async function subscribed() {
  while (pendingSubscriptions.length > 0) {
    await Promise.allSettled(pendingSubscriptions.splice(0));
  }
}

function logRedisError(role) {
  return (error) => console.error(`[peer ${name}] redis ${role} error: ${error?.message ?? error}`);
}

/** `{pub, sub, publish(channel, bytes), spublish(channel, bytes), quit()}` */
async function connectRedis() {
  let pub, sub;
  if ((config.client ?? "redis") === "ioredis") {
    const { Redis, Cluster } = await import("ioredis");
    const nodes = (config.cluster ?? []).map((url) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) }));
    // An ioredis Cluster sends SSUBSCRIBE to the right shard only with `shardedSubscribers`.
    pub = config.cluster ? new Cluster(nodes, { shardedSubscribers: mode === "sharded" }) : new Redis(config.redis);
    sub = pub.duplicate();
    for (const [client, role] of [[pub, "pub"], [sub, "sub"]]) {
      client.on("error", logRedisError(role));
      if (client.status !== "ready") await new Promise((resolve) => client.once("ready", resolve));
    }
    trackSubscriptions(sub);
    return {
      pub, sub,
      publish: (channel, bytes) => pub.publish(channel, bytes),
      spublish: (channel, bytes) => pub.spublish(channel, bytes),
      quit: () => Promise.all([pub.quit(), sub.quit()]),
    };
  }
  const { createClient, createCluster } = await import("redis");
  pub = config.cluster
    ? createCluster({ rootNodes: config.cluster.map((url) => ({ url })) })
    : createClient({ url: config.redis });
  sub = pub.duplicate();
  pub.on("error", logRedisError("pub"));
  sub.on("error", logRedisError("sub"));
  await Promise.all([pub.connect(), sub.connect()]);
  trackSubscriptions(sub);
  return {
    pub, sub,
    publish: (channel, bytes) => pub.publish(channel, bytes),
    spublish: (channel, bytes) => pub.sPublish(channel, bytes),
    quit: () => Promise.all([pub.quit(), sub.quit()]),
  };
}

const redis = await connectRedis();

// ---- socket.io server ---------------------------------------------------------------------------

const adapterOptions = config.adapter ?? {};
const adapter = mode === "sharded"
  ? createShardedAdapter(redis.pub, redis.sub, adapterOptions)
  : createAdapter(redis.pub, redis.sub, adapterOptions);
const httpServer = createServer();
const io = new Server(httpServer, { ...config.server, adapter });

/** Server-side events received: `{nsp, event, args, ack}`. */
const received = [];
/** `"<nsp> <event>"` → the value to ack with (undefined: never ack). */
const listeners = new Map();

/** Sets up namespace `nsp` (once): socket.data, auto-joins, connection logging. */
function namespace(nspName = "/") {
  const nsp = io.of(nspName);
  if (nsp.oxioReady) return nsp;
  nsp.oxioReady = true;
  // Runs before the client gets its CONNECT answer: data and rooms are in place (and any dynamic
  // sharded room channel subscribed) once the client sees `connect`.
  nsp.use(async (socket, next) => {
    const auth = socket.handshake.auth ?? {};
    socket.data = { peer: name, ...auth };
    if (Array.isArray(auth.join)) socket.join(auth.join);
    await subscribed();
    next();
  });
  nsp.on("connection", (socket) => {
    print({ event: "connection", nsp: nspName, id: socket.id, rooms: [...socket.rooms] });
    socket.on("disconnect", (reason) => print({ event: "disconnect", nsp: nspName, id: socket.id, reason }));
  });
  return nsp;
}

/** Registers (or updates the ack of) a server-side event handler. */
function listen({ nsp = "/", event, ack }) {
  const key = `${nsp} ${event}`;
  const known = listeners.has(key);
  listeners.set(key, ack);
  if (known) return;
  namespace(nsp).on(event, (...args) => {
    const callback = typeof args.at(-1) === "function" ? args.pop() : null;
    const ackValue = listeners.get(key);
    const acked = callback !== null && ackValue !== undefined;
    const record = { nsp, event, args: toWire(args), ack: callback !== null };
    received.push(record);
    print({ event: "serverSideEmit", nsp, name: event, args: record.args, ack: record.ack });
    if (acked) callback(fromWire(ackValue));
  });
}

for (const nsp of ["/", ...(config.namespaces ?? [])]) namespace(nsp);
for (const entry of config.listen ?? []) listen(entry);

// ---- commands -----------------------------------------------------------------------------------

/** Applies `to`, `except` and `flags` of a command to `target` (a namespace, socket or operator). */
function operator(target, { to, except, flags = {} }) {
  let op = target;
  if (to !== undefined && to.length !== 0) op = op.to(to);
  if (except !== undefined && except.length !== 0) op = op.except(except);
  if (flags.volatile) op = op.volatile;
  if (flags.compress !== undefined) op = op.compress(flags.compress);
  if (flags.local) op = op.local;
  if (flags.timeout !== undefined) op = op.timeout(flags.timeout);
  return op;
}

/** The local socket `id` of namespace `nsp`. */
function socketOf(nsp, id) {
  const socket = io.of(nsp).sockets.get(id);
  if (!socket) throw new Error(`no local socket ${id} in ${nsp}`);
  return socket;
}

/** `emit(...args, callback)` as a promise of `{error, responses}` (error: message or null). */
function withAck(emit, args) {
  return new Promise((resolve) => {
    emit(...args, (error, responses) => resolve({ error: error ? error.message : null, responses }));
  });
}

function describeSocket(socket) {
  return { id: socket.id, nsp: socket.nsp.name, rooms: [...socket.rooms], data: socket.data };
}

const ops = {
  ping: () => ({ event: "alive" }),
  namespace: ({ nsp }) => { namespace(nsp); return null; },
  emit: (c) => { operator(namespace(c.nsp), c).emit(c.event, ...fromWire(c.args ?? [])); return null; },
  emitWithAck: (c) => {
    const flags = { timeout: 5000, ...c.flags };
    const op = operator(namespace(c.nsp), { ...c, flags });
    return withAck(op.emit.bind(op, c.event), fromWire(c.args ?? []));
  },
  fetchSockets: async (c) => {
    const sockets = await operator(namespace(c.nsp), c).fetchSockets();
    return sockets.map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data, handshake: s.handshake }));
  },
  allRooms: async (c) => {
    const adapter = namespace(c.nsp).adapter;
    if (typeof adapter.allRooms !== "function") throw new Error(`allRooms is not supported in ${mode} mode`);
    return [...(await adapter.allRooms())].sort();
  },
  localRooms: (c) => [...namespace(c.nsp).adapter.rooms.keys()].sort(),
  serverCount: (c) => namespace(c.nsp).adapter.serverCount(),
  socketsJoin: (c) => { operator(namespace(c.nsp), c).socketsJoin(c.rooms); return null; },
  socketsLeave: (c) => { operator(namespace(c.nsp), c).socketsLeave(c.rooms); return null; },
  disconnectSockets: (c) => { operator(namespace(c.nsp), c).disconnectSockets(c.close ?? false); return null; },
  serverSideEmit: (c) => { namespace(c.nsp).serverSideEmit(c.event, ...fromWire(c.args ?? [])); return null; },
  serverSideEmitWithAck: (c) => {
    const nsp = namespace(c.nsp);
    return withAck(nsp.serverSideEmit.bind(nsp, c.event), fromWire(c.args ?? []));
  },
  listen: (c) => { listen(c); return null; },
  received: (c) => {
    const matching = received.filter((r) => (c.nsp === undefined || r.nsp === c.nsp) && (c.event === undefined || r.event === c.event));
    if (c.clear) received.length = 0;
    return matching;
  },
  socketJoin: async (c) => {
    const socket = socketOf(c.nsp ?? "/", c.socket);
    await socket.join(c.rooms ?? c.room);
    return [...socket.rooms];
  },
  socketLeave: async (c) => {
    const socket = socketOf(c.nsp ?? "/", c.socket);
    for (const room of [].concat(c.rooms ?? c.room)) await socket.leave(room);
    return [...socket.rooms];
  },
  socketEmit: (c) => {
    const socket = socketOf(c.nsp ?? "/", c.socket);
    const flags = c.flags ?? {};
    let target = socket;
    if (flags.volatile) target = target.volatile;
    if (flags.compress !== undefined) target = target.compress(flags.compress);
    const args = fromWire(c.args ?? []);
    if (flags.timeout === undefined) { target.emit(c.event, ...args); return null; }
    target = target.timeout(flags.timeout);
    return new Promise((resolve) => {
      target.emit(c.event, ...args, (error, response) => resolve({ error: error ? error.message : null, response }));
    });
  },
  socketBroadcast: (c) => {
    const socket = socketOf(c.nsp ?? "/", c.socket);
    operator(socket.broadcast, c).emit(c.event, ...fromWire(c.args ?? []));
    return null;
  },
  socketTo: (c) => {
    if (!c.to?.length) throw new Error("socketTo needs `to`");
    const socket = socketOf(c.nsp ?? "/", c.socket);
    operator(socket, c).emit(c.event, ...fromWire(c.args ?? []));
    return null;
  },
  connections: (c) => {
    const names = c.nsp !== undefined ? [c.nsp] : [...io._nsps.keys()];
    return names.flatMap((nsp) => [...io.of(nsp).sockets.values()].map(describeSocket));
  },
  publishRaw: (c) => {
    const bytes = c.base64 !== undefined ? Buffer.from(c.base64, "base64") : Buffer.from(c.text ?? "");
    return c.sharded ? redis.spublish(c.channel, bytes) : redis.publish(c.channel, bytes);
  },
  exit: () => {
    // Answer first, then close: the socket.io server, the adapters' subscriptions, Redis.
    setTimeout(async () => {
      io.close();
      await redis.quit().catch(() => {});
      process.exit(0);
    }, 10);
    return null;
  },
};

// ---- ready --------------------------------------------------------------------------------------

await new Promise((resolve) => httpServer.listen(config.port ?? 0, "127.0.0.1", resolve));
await subscribed();
const uids = Object.fromEntries([...io._nsps].map(([nsp, n]) => [nsp, n.adapter.uid]));
print({ event: "ready", port: httpServer.address().port, uids, pid: process.pid });

serveCommands(async (command) => {
  const run = ops[command.op];
  if (!run) throw new Error(`unknown op ${command.op}`);
  const result = await run(command);
  await subscribed();
  return result;
});

import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * A TCP relay that puts a WAN between its clients and a target: every chunk waits half the
 * round-trip time in each direction, in order. The push baseline's "workstation" reaches the
 * nodes' sshd through it, as Ansible reaches a cloud from outside — this kernel has no `tc netem`.
 * A slow reader slows the writer (back-pressure): nothing is buffered without bound.
 */
export interface WanRelay {
  /** Where clients connect. */
  host: string;
  port: number;
  close(): Promise<void>;
}

export interface WanRelayOptions {
  target: { host: string; port: number };
  /** Round-trip time added, in milliseconds (default 40). */
  rttMs?: number;
  listen?: { host: string; port: number };
}

/** Bytes in flight per direction before the sender is paused. */
const HIGH_WATER = 4 * 1024 * 1024;

export async function startWanRelay(o: WanRelayOptions): Promise<WanRelay> {
  const oneWay = (o.rttMs ?? 40) / 2;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(o.target.port, o.target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    delayedPipe(client, upstream, oneWay);
    delayedPipe(upstream, client, oneWay);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(o.listen?.port ?? 0, o.listen?.host ?? "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** from → to, each chunk delivered `delayMs` after it arrived; the end follows the last chunk. */
function delayedPipe(from: Socket, to: Socket, delayMs: number): void {
  let inFlight = 0;
  let last = Promise.resolve();
  const later = (fn: () => void) => {
    const due = Date.now() + delayMs;
    // Chained, so chunks keep their order even if timers fire out of order.
    last = last.then(() => new Promise<void>((r) => setTimeout(r, Math.max(0, due - Date.now())))).then(fn);
  };
  from.on("data", (chunk: Buffer) => {
    inFlight += chunk.length;
    if (inFlight > HIGH_WATER) from.pause();
    later(() => {
      inFlight -= chunk.length;
      if (!to.destroyed) to.write(chunk);
      if (inFlight <= HIGH_WATER && from.isPaused()) from.resume();
    });
  });
  from.once("end", () => later(() => to.end()));
}

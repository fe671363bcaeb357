import { createHash, randomBytes } from "node:crypto";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWanRelay, type WanRelay } from "./wan-relay.js";

/** A real echo server on loopback behind a real relay: round trips, order and integrity. */
let echo: Server;
let echoPort = 0;
beforeAll(async () => {
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoPort = (echo.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => echo.close(r));
});

/** Milliseconds for one small request to come back. */
async function roundTrip(port: number): Promise<number> {
  const s = connect(port, "127.0.0.1");
  await new Promise((r) => s.once("connect", r));
  const t = performance.now();
  s.write("ping");
  await new Promise((r) => s.once("data", r));
  const ms = performance.now() - t;
  s.destroy();
  return ms;
}

describe("WAN relay", () => {
  let relay: WanRelay;
  beforeAll(async () => {
    relay = await startWanRelay({ target: { host: "127.0.0.1", port: echoPort }, rttMs: 40 });
  });
  afterAll(async () => {
    await relay.close();
  });

  it("adds the round-trip time to every exchange, and not much more", async () => {
    const direct = await roundTrip(echoPort);
    const times = [];
    for (let i = 0; i < 5; i++) times.push(await roundTrip(relay.port));
    const median = times.sort((a, b) => a - b)[2]!;
    expect(direct).toBeLessThan(20);
    expect(median).toBeGreaterThanOrEqual(40);
    expect(median).toBeLessThan(100); // one RTT added, not one per chunk or per direction twice
  });

  it("delivers 8 MiB in order and intact, with back-pressure", async () => {
    const payload = randomBytes(8 * 1024 * 1024);
    const s = connect(relay.port, "127.0.0.1");
    const received: Buffer[] = [];
    let bytes = 0;
    const done = new Promise<void>((resolve) =>
      s.on("data", (d: Buffer) => {
        received.push(d);
        bytes += d.length;
        if (bytes >= payload.length) resolve();
      }),
    );
    // Small writes, so order across many chunks matters.
    for (let off = 0; off < payload.length; off += 16 * 1024) s.write(payload.subarray(off, off + 16 * 1024));
    await done;
    s.destroy();
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    expect(sha(Buffer.concat(received))).toBe(sha(payload));
  });
});

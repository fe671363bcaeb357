import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve, sep } from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * The push baseline's "internet": an HTTP server for a local Debian package mirror whose
 * bandwidth is capped as a whole, like one uplink shared by every node installing packages at
 * once (Kubespray downloads from the internet; registries and mirrors are not reachable here).
 * Serves files under `root` only; GET and HEAD.
 */
export interface PackageMirror {
  url: string;
  /** Bytes sent so far, all clients together. */
  bytesSent(): number;
  close(): Promise<void>;
}

export interface PackageMirrorOptions {
  root: string;
  /** Bytes per second for all downloads together (default: unlimited). */
  bytesPerSecond?: number;
  listen?: { host: string; port: number };
}

/** A token bucket shared by all responses: each chunk waits until the uplink has room for it. */
class Uplink {
  private nextFree = Date.now();
  sent = 0;
  constructor(private readonly bytesPerSecond: number | undefined) {}

  /** Milliseconds to wait before `bytes` may go out. */
  reserve(bytes: number): number {
    this.sent += bytes;
    if (!this.bytesPerSecond) return 0;
    const now = Date.now();
    const start = Math.max(now, this.nextFree);
    this.nextFree = start + (bytes / this.bytesPerSecond) * 1000;
    return start - now;
  }
}

function throttle(uplink: Uplink): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const wait = uplink.reserve(chunk.length);
      if (wait <= 0) done(null, chunk);
      else setTimeout(() => done(null, chunk), wait);
    },
  });
}

export async function startPackageMirror(o: PackageMirrorOptions): Promise<PackageMirror> {
  const root = resolve(o.root);
  const uplink = new Uplink(o.bytesPerSecond);
  const server: Server = createServer(async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET, HEAD" }).end();
    let path: string;
    try {
      path = resolve(root, `.${decodeURIComponent(new URL(req.url ?? "/", "http://mirror").pathname)}`);
    } catch {
      return void res.writeHead(400).end("bad path\n");
    }
    // Nothing outside the mirror's root, whatever the request says.
    if (path !== root && !path.startsWith(root + sep)) return void res.writeHead(403).end("outside the mirror\n");
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) return void res.writeHead(404).end("not found\n");
    res.writeHead(200, { "content-length": info.size, "content-type": "application/octet-stream" });
    if (req.method === "HEAD") return void res.end();
    await pipeline(createReadStream(path, { highWaterMark: 64 * 1024 }), throttle(uplink), res).catch(() => res.destroy());
  });
  await new Promise<void>((r, reject) => server.once("error", reject).listen(o.listen?.port ?? 0, o.listen?.host ?? "127.0.0.1", r));
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    bytesSent: () => uplink.sent,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { isIP } from "node:net";
import { serve, upgradeWebSocket } from "@hono/node-server";
import { WebSocketServer } from "ws";
import type { Logger } from "../../shared/log.js";
import type { Coordinator } from "../coordinator.js";
import { issueServingCertificate } from "../pki/cluster-pki.js";
import { createApp } from "./app.js";

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the coordinator on HTTPS. Client certificates are requested but not required at the
 * TLS layer (joining nodes have none yet); routes that need one check it (`requireNode`).
 */
export async function listen(co: Coordinator, options: { host: string; port: number; advertise: string[]; log: Logger }): Promise<RunningServer> {
  const names = new Set(["localhost", "127.0.0.1", options.host, ...options.advertise].filter((h) => h && h !== "0.0.0.0"));
  for (const n of names) if (isIP(n) !== 0) co.servingAddresses.add(n);
  const serving = await issueServingCertificate(co.pki, {
    dnsNames: [...names].filter((n) => isIP(n) === 0),
    ips: [...names].filter((n) => isIP(n) !== 0),
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const app = createApp(co, upgradeWebSocket, options.log);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        hostname: options.host,
        port: options.port,
        createServer,
        serverOptions: {
          cert: serving.certPem,
          key: serving.keyPem,
          ca: [co.pki.caCertPem],
          requestCert: true,
          rejectUnauthorized: false,
          minVersion: "TLSv1.2",
        },
        websocket: { server: wss },
      },
      () => resolve(s as Server),
    ) as Server;
    s.once("error", reject);
  });
  // Agents that vanish without closing (host gone) are dropped after a missed heartbeat, so
  // `connected` in status stays true only for agents that are really there.
  const alive = new WeakMap<object, boolean>();
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) ws.on("pong", () => alive.set(ws, true)); // first sight of this client
      else if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, 20_000);
  heartbeat.unref();
  // Agents of a large cluster connect at once; a short backlog would refuse them.
  server.maxConnections = 20_000;
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  const urlHost = options.host === "0.0.0.0" ? "127.0.0.1" : options.host;
  return {
    url: `https://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

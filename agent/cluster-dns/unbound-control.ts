import { createConnection } from "node:net";

/**
 * One command over unbound's control socket: the `UBCT1 ` line protocol unbound-control speaks
 * (daemon/remote.c), without forking unbound-control, which re-reads the whole configuration
 * on every run. A unix socket needs no TLS. Resolves with the reply; an `error …` reply rejects.
 */
export function unboundControl(socketPath: string, command: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let reply = "";
    const timer = setTimeout(() => socket.destroy(new Error(`unbound did not answer "${command}" within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.end(`UBCT1 ${command}\n`));
    socket.on("data", (d: string) => (reply += d));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`unbound control (${socketPath}): ${err.message}`, { cause: err }));
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (/^error/m.test(reply)) reject(new Error(`unbound refused "${command}": ${reply.trim().slice(0, 500)}`));
      else resolve(reply);
    });
  });
}

import type { Host } from "./host/host.js";
import { askOrWait, isTransient } from "./coordinator-client/transient.js";

/**
 * Barriers this node has seen open. They are one-way facts ("the API server came up"), so while
 * the coordinator is away — a restarted agent converging from its cached manifest — a barrier
 * the node already passed stays passed instead of blocking the node's own convergence.
 */
const PATH = "/var/lib/sprout/barriers.json";

async function passed(host: Host): Promise<Set<string>> {
  const text = await host.readFile(PATH);
  try {
    return new Set(text ? (JSON.parse(text.toString("utf8")) as string[]) : []);
  } catch {
    return new Set();
  }
}

export function rememberingBarriers(host: Host, ask: (name: string) => Promise<boolean>): (name: string) => Promise<boolean> {
  return async (name) => {
    try {
      const ready = await ask(name);
      const known = await passed(host);
      if (ready && !known.has(name)) await host.writeFile(PATH, JSON.stringify([...known, name]), 0o644);
      return ready;
    } catch (err) {
      if (isTransient(err) && (await passed(host)).has(name)) return true;
      return askOrWait(`barrier ${name}`, () => Promise.reject(err));
    }
  };
}

import { abortReason } from "../../shared/backoff.js";
import type { KubeClient } from "./kube-client.js";

/**
 * Resolves at the first change to any of the watched lists (path → the resourceVersion the
 * controller last saw); the other watches are cancelled. For controllers that read more than
 * one kind of object.
 */
export async function firstChange(client: KubeClient, seen: [path: string, resourceVersion: string | undefined][], signal: AbortSignal): Promise<void> {
  const stop = new AbortController();
  const onAbort = () => stop.abort(abortReason(signal));
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await Promise.race(seen.map(([path, rv]) => client.changed(path, rv, stop.signal)));
  } finally {
    stop.abort(new Error("next round"));
    signal.removeEventListener("abort", onAbort);
  }
}

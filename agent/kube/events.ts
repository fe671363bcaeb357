import { randomBytes } from "node:crypto";
import type { KubeClient } from "./kube-client.js";

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

/**
 * Warning Events for objects a controller cannot serve, as `kubectl describe` shows them: once
 * per object and message for the life of the process, so a watch loop does not repeat them.
 */
export class WarningEvents {
  private readonly sent = new Set<string>();

  constructor(
    private readonly source: { component: string; host: string },
    private readonly signal?: AbortSignal,
  ) {}

  async warn(client: KubeClient, about: InvolvedObject, reason: string, message: string): Promise<boolean> {
    const key = `${about.kind}/${about.namespace}/${about.name}/${about.uid ?? ""}/${reason}/${message}`;
    if (this.sent.has(key)) return false;
    const now = new Date().toISOString();
    await client.create(
      `/api/v1/namespaces/${encodeURIComponent(about.namespace)}/events`,
      {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${about.name}.${randomBytes(8).toString("hex")}`, namespace: about.namespace },
        involvedObject: about,
        reason,
        message,
        type: "Warning",
        source: this.source,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
      this.signal,
    );
    this.sent.add(key);
    return true;
  }
}

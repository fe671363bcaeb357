import { z } from "zod";
import type { Agent } from "undici";
import { API } from "../../shared/join.js";
import { NodeManifest } from "../../shared/node-manifest.js";
import { requestJson } from "../../shared/http-json.js";

/** The joined node's mTLS calls: manifest and barriers. */
export class NodeClient {
  constructor(
    readonly coordinatorUrl: string,
    private readonly dispatcher: Agent,
  ) {}

  manifest(signal?: AbortSignal): Promise<NodeManifest> {
    return requestJson(new URL(API.manifest, this.coordinatorUrl).href, NodeManifest, { dispatcher: this.dispatcher, signal });
  }

  async barrier(name: string, signal?: AbortSignal): Promise<boolean> {
    const res = await requestJson(new URL(`${API.barriers}/${name}`, this.coordinatorUrl).href, z.object({ ready: z.boolean() }), { dispatcher: this.dispatcher, signal });
    return res.ready;
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

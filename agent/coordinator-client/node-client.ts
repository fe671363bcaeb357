import { z } from "zod";
import type { Agent } from "undici";
import { API } from "../../shared/join.js";
import { NodeManifest } from "../../shared/node-manifest.js";
import { requestJson } from "../../shared/http-json.js";
import { SignResponse, type CertProfileName } from "../../shared/cert-profiles.js";

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

  sign(profile: CertProfileName, csr: string, signal?: AbortSignal): Promise<SignResponse> {
    return requestJson(new URL(API.certificates, this.coordinatorUrl).href, SignResponse, { dispatcher: this.dispatcher, method: "POST", body: { profile, csr }, signal });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

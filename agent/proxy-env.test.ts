import { describe, expect, it } from "vitest";
import type { NodeManifest } from "../shared/node-manifest.js";
import { agentProxySteps } from "./builders/egress-proxy.js";
import { applyProxyEnv } from "./proxy-env.js";

const withProxy = { egressProxy: { httpProxy: "http://proxy:3128", httpsProxy: "http://proxy:3129", noProxy: "localhost,10.240.0.0/24" } } as NodeManifest;
const withoutProxy = {} as NodeManifest;

describe("the agent and the egress proxy", () => {
  it("sets both spellings of the proxy variables for what the agent runs, and clears them when the proxy goes", () => {
    const env: NodeJS.ProcessEnv = { PATH: "/usr/bin" };
    applyProxyEnv(withProxy, env);
    expect(env).toEqual({
      PATH: "/usr/bin",
      HTTP_PROXY: "http://proxy:3128",
      http_proxy: "http://proxy:3128",
      HTTPS_PROXY: "http://proxy:3129",
      https_proxy: "http://proxy:3129",
      NO_PROXY: "localhost,10.240.0.0/24",
      no_proxy: "localhost,10.240.0.0/24",
    });
    applyProxyEnv(withoutProxy, env);
    expect(env).toEqual({ PATH: "/usr/bin" });
  });

  it("gives the agent's unit the proxy drop-in, and nothing without a proxy", () => {
    expect(agentProxySteps(withProxy)).toEqual([expect.objectContaining({ kind: "file", path: "/etc/systemd/system/sprout-agent.service.d/sprout-proxy.conf" })]);
    expect(agentProxySteps(withoutProxy)).toEqual([]);
  });
});

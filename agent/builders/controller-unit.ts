import type { CertProfileName } from "../../shared/cert-profiles.js";
import { CA_PATHS, certificatePaths } from "./certificates.js";
import { renderUnit } from "./systemd-unit.js";

/**
 * The unit of one of the agent's long-running controllers (`sprout-agent <command>`): restarted
 * whenever it exits, talking to the API server with its own identity (`profile`).
 */
export function renderControllerUnit(o: { description: string; after: string[]; command: string; endpoint: string; profile: CertProfileName; args: string[] }): string {
  const client = certificatePaths(o.profile);
  return renderUnit({
    description: o.description,
    after: o.after,
    wants: o.after,
    service: [
      ["Type", "simple"],
      ["Restart", "always"],
      ["RestartSec", "2"],
    ],
    execStart: [["/usr/local/bin/sprout-agent", o.command, "--server", o.endpoint, "--ca", CA_PATHS.cluster, "--cert", client.certPath, "--key", client.keyPath, ...o.args]],
    wantedBy: "multi-user.target",
  });
}

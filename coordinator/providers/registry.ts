import type { ClusterSpec } from "../../shared/cluster-spec.js";
import type { Provider } from "../up/provider.js";
import { cloudProvider } from "./cloud/cloud-provider.js";
import { dryRunProvider } from "./dry-run/dry-run-provider.js";
import { localProvider } from "./local/local-provider.js";
import { sshProvider } from "./ssh/ssh-provider.js";

/** Every provider, by cluster.yaml's `provider.type`; the one place a new provider is named. */
const PROVIDERS: Record<ClusterSpec["provider"]["type"], Provider> = {
  local: localProvider,
  ssh: sshProvider,
  openstack: cloudProvider,
  aws: cloudProvider,
  gcp: cloudProvider,
  azure: cloudProvider,
};

/** The provider `up` runs: chosen once, from cluster.yaml, or the dry run of the protocol. */
export function providerFor(type: ClusterSpec["provider"]["type"], dryRun: boolean): Provider {
  return dryRun ? dryRunProvider : PROVIDERS[type];
}

import { formatCidr, nthSubnet, parseCidr } from "../../shared/net.js";
import { ApiError } from "../../shared/errors.js";

/** Gives each node the lowest free `/maskSize` slice of the cluster pod CIDR. */
export function allocatePodCidr(podCidr: string, maskSize: number, used: Iterable<number>): { index: number; cidr: string } {
  const parent = parseCidr(podCidr);
  if (!parent) throw new Error(`invalid pod CIDR ${podCidr}`);
  const taken = new Set(used);
  for (let index = 0; ; index++) {
    const subnet = nthSubnet(parent, maskSize, index);
    if (!subnet) {
      throw new ApiError(409, "pod_cidr_exhausted", `pod CIDR ${podCidr} has no free /${maskSize} left for another node`);
    }
    if (!taken.has(index)) return { index, cidr: formatCidr(subnet) };
  }
}

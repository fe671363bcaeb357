import { formatCidr, nthSubnet, parseCidr } from "../../shared/net.js";
import { ApiError } from "../../shared/errors.js";

/**
 * Gives a node its `/maskSize` slice of the cluster pod CIDR: slice `preferred` (the node's place
 * in the spec's node list) when it is free, so a cloud's route table, rendered before any VM
 * boots, names each node's pod subnet correctly; else the lowest free one from `from` (a node the
 * spec does not name starts after the planned slots, so it never takes one a planned node needs).
 */
export function allocatePodCidr(podCidr: string, maskSize: number, used: Iterable<number>, preferred?: number, from = 0): { index: number; cidr: string } {
  const parent = parseCidr(podCidr);
  if (!parent) throw new Error(`invalid pod CIDR ${podCidr}`);
  const taken = new Set(used);
  const wanted = preferred === undefined ? undefined : nthSubnet(parent, maskSize, preferred);
  if (wanted && !taken.has(preferred!)) return { index: preferred!, cidr: formatCidr(wanted) };
  for (let index = from; ; index++) {
    const subnet = nthSubnet(parent, maskSize, index);
    if (!subnet) {
      throw new ApiError(409, "pod_cidr_exhausted", `pod CIDR ${podCidr} has no free /${maskSize} left for another node`);
    }
    if (!taken.has(index)) return { index, cidr: formatCidr(subnet) };
  }
}

/** The pod subnet a planned node gets when it joins (see allocatePodCidr's `preferred`). */
export function plannedPodCidr(podCidr: string, maskSize: number, index: number): string {
  const subnet = nthSubnet(parseCidr(podCidr)!, maskSize, index);
  if (!subnet) throw new Error(`pod CIDR ${podCidr} has no /${maskSize} number ${index}`);
  return formatCidr(subnet);
}

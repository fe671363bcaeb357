import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { access } from "node:fs/promises";
import { nthAddress, parseCidr, type Cidr } from "../../../shared/net.js";
import { UserError } from "../../../shared/errors.js";

const run = promisify(execFile);

/**
 * The local provider's node network: a hub network namespace holding a bridge, and one network
 * namespace per node wired to it by a veth pair. Node addresses live only inside these
 * namespaces, never on the machine's own interfaces. One more veth joins the bridge to this
 * machine and carries the gateway address: the coordinator listens there, and the CLI (and
 * kubectl) reach the nodes through it.
 */
export interface NodeNetwork {
  hub: string;
  /** This machine's end of the uplink veth. */
  uplink: string;
  gateway: string;
  prefix: number;
  nodes: { name: string; netns: string; address: string }[];
  destroy(): Promise<void>;
}

/**
 * Namespace names: `sprout.<cluster>` for the hub, `sprout.<cluster>.<node>` for nodes. Cluster
 * and node names are DNS labels and cannot contain dots, so one cluster's names can never be
 * mistaken for another's (`dev` vs `dev-2`).
 */
const NS_PREFIX = "sprout.";

async function ip(...args: string[]): Promise<void> {
  try {
    await run("ip", args);
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? "").trim();
    throw new Error(`ip ${args.join(" ")} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}

export function hubNamespace(cluster: string): string {
  return `${NS_PREFIX}${cluster}`;
}

export function nodeNamespace(cluster: string, node: string): string {
  return `${NS_PREFIX}${cluster}.${node}`;
}

/** The cluster a namespace belongs to, if it is one of ours. */
export function clusterOfNamespace(ns: string): string | undefined {
  return /^sprout\.([a-z0-9-]+)(\.|$)/.exec(ns)?.[1];
}

/** Interface names are limited to 15 characters, so the uplink is named by a hash of the cluster. */
export function uplinkName(cluster: string): string {
  return `sp-${createHash("sha256").update(cluster).digest("hex").slice(0, 8)}`;
}

export async function createNodeNetwork(cluster: string, cidr: string, nodeNames: string[]): Promise<NodeNetwork> {
  const net = nodeNet(cidr, nodeNames.length);
  const hub = hubNamespace(cluster);
  const uplink = uplinkName(cluster);
  const gateway = nthAddress(net, 1);
  const { stdout: holders } = await run("ip", ["-o", "addr", "show", "to", `${gateway}/32`]);
  if (holders.trim() !== "") {
    const dev = holders.trim().split(/\s+/)[1];
    throw new UserError(`node network ${cidr} is already in use on this machine (${gateway} is on ${dev}, another cluster?); choose another networks.nodeCidr in cluster.yaml`);
  }
  const created: string[] = [];
  const destroy = async () => {
    for (const ns of created.reverse()) await ip("netns", "del", ns).catch(() => undefined);
    // The kernel removes the pair with the hub namespace, but not always before we return.
    await ip("link", "del", uplink).catch(() => undefined);
  };
  try {
    await ip("netns", "add", hub);
    created.push(hub);
    await ip("-n", hub, "link", "set", "lo", "up");
    await ip("-n", hub, "link", "add", "br0", "type", "bridge");
    await ip("-n", hub, "link", "set", "br0", "up");
    // Deleting the hub namespace deletes this pair too, so cleanup stays one `netns del`.
    await ip("link", "add", uplink, "type", "veth", "peer", "name", "uplink", "netns", hub);
    await ip("-n", hub, "link", "set", "uplink", "master", "br0", "up");
    await ip("addr", "add", `${gateway}/${net.prefix}`, "dev", uplink);
    await ip("link", "set", uplink, "up");
    const nodes: NodeNetwork["nodes"] = [];
    for (const [i, name] of nodeNames.entries()) {
      nodes.push(await addNodeNamespace(cluster, net, i, name));
      created.push(nodes[i]!.netns);
    }
    return { hub, uplink, gateway, prefix: net.prefix, nodes, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/**
 * The node network of a cluster with at least these nodes: created when missing; when it exists
 * (a second `sprout up`, or more workers than last time), the missing nodes' namespaces are
 * added. A node's address follows its position in the plan, as on creation.
 */
export async function ensureNodeNetwork(cluster: string, cidr: string, nodeNames: string[]): Promise<Omit<NodeNetwork, "destroy">> {
  const hub = hubNamespace(cluster);
  if (!(await namespaceExists(hub))) return createNodeNetwork(cluster, cidr, nodeNames);
  const net = nodeNet(cidr, nodeNames.length);
  const uplink = uplinkName(cluster);
  const gateway = nthAddress(net, 1);
  const { stdout } = await run("ip", ["-o", "-4", "addr", "show", "dev", uplink]).catch(() => ({ stdout: "" }));
  if (!stdout.includes(` ${gateway}/${net.prefix} `)) {
    throw new UserError(`cluster ${cluster}'s node network exists with another address range than networks.nodeCidr ${cidr} in cluster.yaml; run \`sprout down\` before changing it`);
  }
  const nodes: NodeNetwork["nodes"] = [];
  for (const [i, name] of nodeNames.entries()) {
    const netns = nodeNamespace(cluster, name);
    nodes.push((await namespaceExists(netns)) ? { name, netns, address: nthAddress(net, 10 + i) } : await addNodeNamespace(cluster, net, i, name));
  }
  return { hub, uplink, gateway, prefix: net.prefix, nodes };
}

/** A node's namespace, wired to the hub's bridge, with its address and a default route. */
async function addNodeNamespace(cluster: string, net: Cidr, i: number, name: string): Promise<NodeNetwork["nodes"][number]> {
  const hub = hubNamespace(cluster);
  const netns = nodeNamespace(cluster, name);
  const address = nthAddress(net, 10 + i);
  await ip("netns", "add", netns);
  try {
    // The veth's hub end is named by index: interface names are limited to 15 characters.
    await ip("-n", hub, "link", "add", `veth${i}`, "type", "veth", "peer", "name", "eth0", "netns", netns);
    await ip("-n", hub, "link", "set", `veth${i}`, "master", "br0", "up");
    await ip("-n", netns, "link", "set", "lo", "up");
    await ip("-n", netns, "addr", "add", `${address}/${net.prefix}`, "dev", "eth0");
    await ip("-n", netns, "link", "set", "eth0", "up");
    await ip("-n", netns, "route", "add", "default", "via", nthAddress(net, 1));
  } catch (err) {
    await ip("netns", "del", netns).catch(() => undefined);
    throw err;
  }
  return { name, netns, address };
}

/** Node addresses start at .10 (the gateway is .1): the range must hold every node. */
function nodeNet(cidr: string, nodes: number): Cidr {
  const net = parseCidr(cidr);
  if (!net) throw new Error(`invalid node CIDR ${cidr}`);
  if (nodes + 10 > net.size - 2) throw new UserError(`networks.nodeCidr ${cidr} is too small for ${nodes} nodes`);
  return net;
}

async function namespaceExists(ns: string): Promise<boolean> {
  return access(`/run/netns/${ns}`).then(
    () => true,
    () => false,
  );
}

/** Removes every namespace a cluster's network left behind (after a crash); idempotent. */
export async function destroyNodeNetwork(cluster: string): Promise<void> {
  const { stdout } = await run("ip", ["netns", "list"]);
  const hub = hubNamespace(cluster);
  const mine = stdout
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((ns) => clusterOfNamespace(ns) === cluster);
  // Nodes first, hub last: deleting a node namespace removes its veth from the hub's bridge.
  for (const ns of mine.sort((a, b) => Number(a === hub) - Number(b === hub))) {
    await ip("netns", "del", ns).catch(() => undefined);
  }
  await ip("link", "del", uplinkName(cluster)).catch(() => undefined);
}

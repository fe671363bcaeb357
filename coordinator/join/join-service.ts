import { createHash, createPublicKey, X509Certificate } from "node:crypto";
import { planNodes, type ClusterSpec } from "../../shared/cluster-spec.js";
import { ApiError } from "../../shared/errors.js";
import type { JoinRequest, JoinResponse } from "../../shared/join.js";
import type { NodeRecord } from "../state/records.js";
import { validateNodeCsr, signNodeCertificate, CsrRejected } from "../pki/node-csr.js";
import { allocatePodCidr } from "../manifest/pod-cidr.js";
import type { Coordinator } from "../coordinator.js";
import { checkNodeAddresses, checkNodeName } from "./node-address-policy.js";

/**
 * `POST /v1/join` as one straight sequence of phases. Every check runs before anything is
 * written, so a rejected join leaves no trace in state. The write order (token use, then node
 * record) plus "a token remembers which nodes used it" makes a join that is retried after a
 * coordinator crash converge to exactly one node record and one token use.
 */
export async function join(co: Coordinator, req: JoinRequest): Promise<JoinResponse> {
  const token = co.tokens.authorize(req.token, req.roles, req.nodeName);
  checkImage(co, req);
  checkNodeName(req.nodeName);
  checkAddresses(req);
  checkNodeAddresses(co.spec, co.servingAddresses, req.addresses, req.nodeName);

  const validated = validateCsr(co, req);
  const publicKeyHash = spkiHash(validated.publicKeyPem);

  const existing = co.store.getNode(req.nodeName);
  if (existing) return replay(co, existing, publicKeyHash);
  checkAddressesFree(co, req);

  // Signing is the expensive part; it happens outside the critical section.
  const certificate = signNodeCertificate(co.pki, validated, req.nodeName);

  // The spec does not change: where the node's pod slot comes from is worked out outside the lock.
  const slot = podSlot(co.spec, req.nodeName);
  return co.store.lock.run("nodes", async () => {
    const raced = co.store.getNode(req.nodeName);
    if (raced) return replay(co, raced, publicKeyHash);
    checkAddressesFree(co, req);
    await co.tokens.consume(token.id, req.nodeName);
    const pod = allocatePodCidr(
      co.spec.networks.podCidr,
      co.spec.networks.podCidrMaskSize,
      co.store.listNodes().map((n) => n.podCidrIndex),
      slot.preferred,
      slot.from,
    );
    const joining: NodeRecord = {
      name: req.nodeName,
      roles: req.roles,
      addresses: req.addresses,
      tokenId: token.id,
      publicKeyHash,
      certificate,
      certificateSerial: new X509Certificate(certificate).serialNumber,
      podCidr: pod.cidr,
      podCidrIndex: pod.index,
      joinedAt: Date.now(),
      facts: req.facts,
      manifestRevision: 0,
      manifestHash: "",
    };
    const { record, manifest } = co.manifests.firstRevision(joining);
    await co.store.putNode(record);
    co.onNodeJoined(record);
    return { nodeName: record.name, certificate, caBundle: co.pki.caCertPem, manifest };
  });
}

/** A node that joined before (its response was lost, or it was reinstalled with its old key). */
async function replay(co: Coordinator, node: NodeRecord, publicKeyHash: string): Promise<JoinResponse> {
  if (node.publicKeyHash !== publicKeyHash) {
    throw new ApiError(409, "node_name_taken", `a node named ${node.name} already joined with a different key; remove it first or choose another name`);
  }
  // The token use may have been recorded before a crash stopped the node write; make sure it is.
  await co.tokens.consume(node.tokenId, node.name);
  const manifest = await co.manifests.current(node.name);
  return { nodeName: node.name, certificate: node.certificate, caBundle: co.pki.caCertPem, manifest };
}

function checkImage(co: Coordinator, req: JoinRequest): void {
  const want = co.spec.imageVersion;
  if (want && req.facts.imageVersion !== want) {
    throw new ApiError(409, "image_mismatch", `node ${req.nodeName} runs image ${req.facts.imageVersion}, but this cluster requires image ${want}; rebuild or re-create the node from the right image`);
  }
}

/** A node may only claim addresses it actually has. */
function checkAddresses(req: JoinRequest): void {
  const own = new Set(req.facts.nics.flatMap((n) => n.ipv4));
  const foreign = req.addresses.filter((a) => !own.has(a));
  if (foreign.length > 0) {
    throw new ApiError(400, "address_not_on_node", `address(es) ${foreign.join(", ")} are not configured on any interface of ${req.nodeName}`);
  }
}

function checkAddressesFree(co: Coordinator, req: JoinRequest): void {
  for (const other of co.store.listNodes()) {
    if (other.name === req.nodeName) continue;
    const clash = other.addresses.filter((a) => req.addresses.includes(a));
    if (clash.length > 0) {
      throw new ApiError(409, "address_taken", `address ${clash.join(", ")} already belongs to node ${other.name}`);
    }
  }
}

function validateCsr(co: Coordinator, req: JoinRequest) {
  try {
    return validateNodeCsr(req.csr, {
      nodeName: req.nodeName,
      allowedDnsNames: [req.nodeName, `${req.nodeName}.${co.spec.networks.clusterDomain}`],
      allowedIps: req.addresses,
    });
  } catch (err) {
    if (err instanceof CsrRejected) throw new ApiError(400, err.code, err.message);
    throw err;
  }
}

export function spkiHash(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(der).digest("hex")}`;
}

/**
 * A node's pod slot: its place in the spec's node list (see allocatePodCidr), or, for a node the
 * spec does not name, the lowest free one after all planned slots.
 */
function podSlot(spec: ClusterSpec, name: string): { preferred?: number; from: number } {
  const planned = planNodes(spec);
  const i = planned.findIndex((n) => n.name === name);
  return i < 0 ? { from: planned.length } : { preferred: i, from: 0 };
}

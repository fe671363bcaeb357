import { attr, attrs, block, expr, type HclBody } from "./hcl.js";
import type { CloudPlan } from "./cloud-plan.js";
import { ingressRules, isEdgeNode } from "./firewall.js";
import { edgeDnsRecords } from "./render-edge-dns.js";
import { outputs, resourceName, rid, ROOT_DISK_GIB, STORAGE_DISK_NAME, terraformBlock, userDataFile } from "./render-common.js";

/**
 * Google Cloud (hashicorp/google): a custom-mode VPC with one subnetwork on the node network,
 * firewall rules (GCP denies all other ingress by default), a route per node for its pod subnet
 * (instances forward: can_ip_forward), an ephemeral public address only on the master and edge
 * nodes, Cloud NAT for the others' outbound traffic, a persistent disk per storage node
 * (/dev/disk/by-id/google-brick in the VM).
 */
export function renderGcp(plan: CloudPlan, sshPublicKey: string): HclBody {
  if (plan.provider.type !== "gcp") throw new Error("renderGcp needs a gcp plan");
  const p = plan.provider;
  const labels = { "sprout-cluster": plan.cluster };
  const body: HclBody = [
    ...terraformBlock("google", "hashicorp/google", "~> 6.0"),
    block("provider", ["google"], attrs({ project: p.project, region: p.region, zone: p.zone })),
    block("resource", ["google_compute_network", "cluster"], attrs({ name: resourceName(plan), auto_create_subnetworks: false })),
    block("resource", ["google_compute_subnetwork", "nodes"], attrs({ name: resourceName(plan, "nodes"), ip_cidr_range: plan.nodeCidr, region: p.region, network: expr("google_compute_network.cluster.id") })),
    // Egress for nodes without a public address (workloads pull images from registries): Cloud NAT.
    block("resource", ["google_compute_router", "cluster"], attrs({ name: resourceName(plan), region: p.region, network: expr("google_compute_network.cluster.id") })),
    block("resource", ["google_compute_router_nat", "cluster"], attrs({ name: resourceName(plan, "nat"), router: expr("google_compute_router.cluster.name"), region: p.region, nat_ip_allocate_option: "AUTO_ONLY", source_subnetwork_ip_ranges_to_nat: "ALL_SUBNETWORKS_ALL_IP_RANGES" })),
    ...ingressRules(plan).map((r) =>
      block("resource", ["google_compute_firewall", r.name], [
        ...attrs({ name: resourceName(plan, r.name), description: r.description, network: expr("google_compute_network.cluster.id"), direction: "INGRESS", source_ranges: r.from, target_tags: r.to === "edge" ? [edgeTag(plan)] : undefined }),
        block("allow", [], r.protocol === "all" ? attrs({ protocol: "all" }) : attrs({ protocol: r.protocol, ports: [r.toPort ? `${r.port}-${r.toPort}` : String(r.port)] })),
      ]),
    ),
  ];
  for (const n of plan.nodes) {
    const instance = [
      // The VM keeps the user-data it booted with: a changed one must not restart it.
      block("lifecycle", [], [attr("ignore_changes", expr('[metadata["user-data"]]'))]),
      ...attrs({ name: `${plan.cluster}-${n.name}`, machine_type: n.machineType, zone: p.zone, can_ip_forward: true, labels, tags: isEdgeNode(plan, n) ? [edgeTag(plan)] : undefined }),
      block("boot_disk", [], [block("initialize_params", [], attrs({ image: p.image, size: ROOT_DISK_GIB }))]),
      block("network_interface", [], [
        ...attrs({ subnetwork: expr("google_compute_subnetwork.nodes.id"), network_ip: n.privateIp }),
        // An empty access_config is an ephemeral public address.
        ...(n.publicIp ? [block("access_config", [], [])] : []),
      ]),
      attr("metadata", { "user-data": userDataFile(n), "ssh-keys": `${p.sshUser}:${sshPublicKey}`, "block-project-ssh-keys": "true" }),
      ...(n.volumeGiB ? [block("attached_disk", [], attrs({ source: expr(`google_compute_disk.brick_${n.name}.id`), device_name: STORAGE_DISK_NAME }))] : []),
      block("shielded_instance_config", [], attrs({ enable_secure_boot: true })),
    ];
    body.push(block("resource", ["google_compute_instance", rid(n)], instance));
    body.push(block("resource", ["google_compute_route", `pods_${n.name}`], attrs({ name: `${resourceName(plan)}-pods-${n.name}`, dest_range: n.podCidr, network: expr("google_compute_network.cluster.id"), next_hop_ip: n.privateIp, priority: 900, depends_on: [expr(`google_compute_instance.${rid(n)}`)] })));
    if (n.volumeGiB) body.push(block("resource", ["google_compute_disk", `brick_${n.name}`], attrs({ name: `${plan.cluster}-${n.name}-brick`, size: n.volumeGiB, zone: p.zone, type: "pd-balanced", labels })));
  }
  const publicIp = (n: { name: string }) => `google_compute_instance.${rid(n)}.network_interface[0].access_config[0].nat_ip`;
  body.push(...edgeDnsRecords(plan, publicIp));
  body.push(...outputs(plan, publicIp));
  return body;
}

/** The network tag that edge-only firewall rules target. */
function edgeTag(plan: CloudPlan): string {
  return `${resourceName(plan)}-edge`;
}

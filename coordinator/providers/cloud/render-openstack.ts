import { attr, attrs, block, expr, type HclBody } from "./hcl.js";
import type { CloudPlan } from "./cloud-plan.js";
import { ingressRules, isEdgeNode } from "./firewall.js";
import { edgeDnsRecords } from "./render-edge-dns.js";
import { outputs, resourceName, rid, terraformBlock, userDataFile } from "./render-common.js";

/**
 * OpenStack (terraform-provider-openstack): a network and subnet on the node network, a router to
 * the external network, one security group, a port per node with its fixed address and the node's
 * pod subnet as an allowed address pair (port security otherwise drops routed pod traffic),
 * floating IPs only on the master and edge nodes, a Cinder volume per storage node (/dev/vdb).
 */
export function renderOpenStack(plan: CloudPlan, sshPublicKey: string): HclBody {
  if (plan.provider.type !== "openstack") throw new Error("renderOpenStack needs an openstack plan");
  const p = plan.provider;
  const body: HclBody = [
    ...terraformBlock("openstack", "terraform-provider-openstack/openstack", "~> 3.0"),
    block("provider", ["openstack"], attrs({ region: p.region })),
    block("data", ["openstack_networking_network_v2", "external"], attrs({ name: p.externalNetwork, external: true })),
    block("resource", ["openstack_networking_network_v2", "cluster"], attrs({ name: resourceName(plan), admin_state_up: true })),
    block("resource", ["openstack_networking_subnet_v2", "nodes"], attrs({ name: resourceName(plan, "nodes"), network_id: expr("openstack_networking_network_v2.cluster.id"), cidr: plan.nodeCidr, ip_version: 4 })),
    block("resource", ["openstack_networking_router_v2", "cluster"], attrs({ name: resourceName(plan), external_network_id: expr("data.openstack_networking_network_v2.external.id") })),
    block("resource", ["openstack_networking_router_interface_v2", "nodes"], attrs({ router_id: expr("openstack_networking_router_v2.cluster.id"), subnet_id: expr("openstack_networking_subnet_v2.nodes.id") })),
    block("resource", ["openstack_networking_secgroup_v2", "nodes"], attrs({ name: resourceName(plan, "nodes"), description: "Sprout: SSH, HTTP, HTTPS from outside; everything inside the cluster" })),
    // The edge's extra openings, in a group of their own that only edge ports carry.
    block("resource", ["openstack_networking_secgroup_v2", "edge"], attrs({ name: resourceName(plan, "edge"), description: "Sprout: LoadBalancer Services on the edge" })),
    ...ingressRules(plan).flatMap((r) =>
      r.from.map((cidr, i) =>
        block("resource", ["openstack_networking_secgroup_rule_v2", `${r.name}_${i}`], attrs({
          description: r.description,
          direction: "ingress",
          ethertype: "IPv4",
          protocol: r.protocol === "all" ? undefined : r.protocol,
          port_range_min: r.port,
          port_range_max: r.toPort ?? r.port,
          remote_ip_prefix: cidr,
          security_group_id: expr(`openstack_networking_secgroup_v2.${r.to === "edge" ? "edge" : "nodes"}.id`),
        })),
      ),
    ),
    block("resource", ["openstack_compute_keypair_v2", "admin"], attrs({ name: resourceName(plan, "admin"), public_key: sshPublicKey })),
  ];
  for (const n of plan.nodes) {
    body.push(
      block("resource", ["openstack_networking_port_v2", rid(n)], [
        ...attrs({ name: `${resourceName(plan)}-${n.name}`, network_id: expr("openstack_networking_network_v2.cluster.id"), security_group_ids: [expr("openstack_networking_secgroup_v2.nodes.id"), ...(isEdgeNode(plan, n) ? [expr("openstack_networking_secgroup_v2.edge.id")] : [])], admin_state_up: true }),
        block("fixed_ip", [], attrs({ subnet_id: expr("openstack_networking_subnet_v2.nodes.id"), ip_address: n.privateIp })),
        block("allowed_address_pairs", [], attrs({ ip_address: n.podCidr })),
      ]),
      block("resource", ["openstack_compute_instance_v2", rid(n)], [
        // The VM keeps the user-data it booted with: a changed one must not replace or restart it.
        block("lifecycle", [], [attr("ignore_changes", expr("[user_data]"))]),
        ...attrs({ name: `${plan.cluster}-${n.name}`, image_name: p.image, flavor_name: n.machineType, key_pair: expr("openstack_compute_keypair_v2.admin.name"), availability_zone: p.availabilityZone, user_data: userDataFile(n) }),
        block("network", [], [attr("port", expr(`openstack_networking_port_v2.${rid(n)}.id`))]),
      ]),
    );
    if (n.publicIp) {
      body.push(
        block("resource", ["openstack_networking_floatingip_v2", rid(n)], attrs({ pool: p.externalNetwork })),
        block("resource", ["openstack_networking_floatingip_associate_v2", rid(n)], attrs({ floating_ip: expr(`openstack_networking_floatingip_v2.${rid(n)}.address`), port_id: expr(`openstack_networking_port_v2.${rid(n)}.id`), depends_on: [expr("openstack_networking_router_interface_v2.nodes")] })),
      );
    }
    if (n.volumeGiB) {
      body.push(
        block("resource", ["openstack_blockstorage_volume_v3", `brick_${n.name}`], attrs({ name: `${resourceName(plan)}-${n.name}-brick`, size: n.volumeGiB, volume_type: p.volumeType, availability_zone: p.availabilityZone })),
        block("resource", ["openstack_compute_volume_attach_v2", `brick_${n.name}`], attrs({ instance_id: expr(`openstack_compute_instance_v2.${rid(n)}.id`), volume_id: expr(`openstack_blockstorage_volume_v3.brick_${n.name}.id`) })),
      );
    }
  }
  body.push(...edgeDnsRecords(plan, (n) => `openstack_networking_floatingip_v2.${rid(n)}.address`));
  body.push(...outputs(plan, (n) => `openstack_networking_floatingip_v2.${rid(n)}.address`));
  return body;
}

import { attr, attrs, block, expr, type HclBody } from "./hcl.js";
import type { CloudPlan } from "./cloud-plan.js";
import { ingressRules, isEdgeNode, type IngressRule } from "./firewall.js";
import { edgeDnsRecords } from "./render-edge-dns.js";
import { outputs, resourceName, rid, ROOT_DISK_GIB, terraformBlock, userDataFile } from "./render-common.js";

/**
 * AWS (hashicorp/aws): one VPC and subnet on the node network, an internet gateway, one security
 * group, a route per node for its pod subnet (pods are routed, not encapsulated, so instances
 * forward: source/destination checks off), public addresses only on the master and edge nodes,
 * an EBS volume per storage node (Nitro instances show it as /dev/nvme1n1).
 */
export function renderAws(plan: CloudPlan, sshPublicKey: string): HclBody {
  if (plan.provider.type !== "aws") throw new Error("renderAws needs an aws plan");
  const p = plan.provider;
  const tags = (name: string) => ({ Name: name, "sprout.dev/cluster": plan.cluster });
  const body: HclBody = [
    ...terraformBlock("aws", "hashicorp/aws", "~> 5.0"),
    block("provider", ["aws"], [attr("region", p.region)]),
    block("resource", ["aws_vpc", "cluster"], attrs({ cidr_block: plan.nodeCidr, enable_dns_support: true, enable_dns_hostnames: true, tags: tags(resourceName(plan)) })),
    block("resource", ["aws_subnet", "nodes"], attrs({ vpc_id: expr("aws_vpc.cluster.id"), cidr_block: plan.nodeCidr, availability_zone: p.availabilityZone, map_public_ip_on_launch: false, tags: tags(resourceName(plan, "nodes")) })),
    block("resource", ["aws_internet_gateway", "cluster"], attrs({ vpc_id: expr("aws_vpc.cluster.id"), tags: tags(resourceName(plan)) })),
    block("resource", ["aws_route_table", "cluster"], [
      attr("vpc_id", expr("aws_vpc.cluster.id")),
      block("route", [], attrs({ cidr_block: "0.0.0.0/0", gateway_id: expr("aws_internet_gateway.cluster.id") })),
      attr("tags", tags(resourceName(plan))),
    ]),
    block("resource", ["aws_route_table_association", "nodes"], attrs({ subnet_id: expr("aws_subnet.nodes.id"), route_table_id: expr("aws_route_table.cluster.id") })),
    block("resource", ["aws_security_group", "nodes"], [
      ...attrs({ name: resourceName(plan, "nodes"), description: "Sprout: SSH, HTTP, HTTPS from outside; everything inside the cluster", vpc_id: expr("aws_vpc.cluster.id") }),
      ...ingress(ingressRules(plan).filter((r) => r.to === "all")),
      block("egress", [], attrs({ description: "all outbound", protocol: "-1", from_port: 0, to_port: 0, cidr_blocks: ["0.0.0.0/0"] })),
      attr("tags", tags(resourceName(plan, "nodes"))),
    ]),
    // The edge's extra openings, in a group of their own that only edge instances carry.
    block("resource", ["aws_security_group", "edge"], [
      ...attrs({ name: resourceName(plan, "edge"), description: "Sprout: LoadBalancer Services on the edge", vpc_id: expr("aws_vpc.cluster.id") }),
      ...ingress(ingressRules(plan).filter((r) => r.to === "edge")),
      attr("tags", tags(resourceName(plan, "edge"))),
    ]),
    block("resource", ["aws_key_pair", "admin"], attrs({ key_name: resourceName(plan, "admin"), public_key: sshPublicKey })),
  ];
  for (const n of plan.nodes) {
    body.push(
      block("resource", ["aws_instance", rid(n)], [
        // The VM keeps the user-data it booted with: a changed one must not replace or restart it.
        block("lifecycle", [], [attr("ignore_changes", expr("[user_data]"))]),
        ...attrs({
          ami: p.image,
          instance_type: n.machineType,
          subnet_id: expr("aws_subnet.nodes.id"),
          private_ip: n.privateIp,
          associate_public_ip_address: n.publicIp,
          vpc_security_group_ids: [expr("aws_security_group.nodes.id"), ...(isEdgeNode(plan, n) ? [expr("aws_security_group.edge.id")] : [])],
          key_name: expr("aws_key_pair.admin.key_name"),
          source_dest_check: false,
          user_data: userDataFile(n),
          user_data_replace_on_change: false,
        }),
        block("root_block_device", [], attrs({ volume_size: ROOT_DISK_GIB, volume_type: "gp3" })),
        block("metadata_options", [], attrs({ http_tokens: "required", http_put_response_hop_limit: 1 })),
        attr("tags", tags(n.name)),
      ]),
      block("resource", ["aws_route", `pods_${n.name}`], attrs({ route_table_id: expr("aws_route_table.cluster.id"), destination_cidr_block: n.podCidr, network_interface_id: expr(`aws_instance.${rid(n)}.primary_network_interface_id`) })),
    );
    if (n.volumeGiB) {
      body.push(
        block("resource", ["aws_ebs_volume", `brick_${n.name}`], attrs({ availability_zone: expr(`aws_instance.${rid(n)}.availability_zone`), size: n.volumeGiB, type: "gp3", tags: tags(`${n.name}-brick`) })),
        block("resource", ["aws_volume_attachment", `brick_${n.name}`], attrs({ device_name: "/dev/sdf", volume_id: expr(`aws_ebs_volume.brick_${n.name}.id`), instance_id: expr(`aws_instance.${rid(n)}.id`) })),
      );
    }
  }
  body.push(...edgeDnsRecords(plan, (n) => `aws_instance.${rid(n)}.public_ip`));
  body.push(...outputs(plan, (n) => `aws_instance.${rid(n)}.public_ip`));
  return body;
}

function ingress(rules: IngressRule[]): HclBody {
  return rules.map((r) => block("ingress", [], attrs({ description: r.description, protocol: r.protocol === "all" ? "-1" : r.protocol, from_port: r.port ?? 0, to_port: r.toPort ?? r.port ?? 0, cidr_blocks: r.from })));
}

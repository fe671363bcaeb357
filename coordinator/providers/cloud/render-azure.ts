import { attr, attrs, block, expr, type HclBody } from "./hcl.js";
import type { CloudPlan } from "./cloud-plan.js";
import { ingressRules, isEdgeNode } from "./firewall.js";
import { edgeDnsRecords } from "./render-edge-dns.js";
import { outputs, resourceName, rid, ROOT_DISK_GIB, terraformBlock } from "./render-common.js";

/**
 * Azure (hashicorp/azurerm 4.x): a resource group, a virtual network with one subnet on the node
 * network, a network security group (our rules, then an explicit deny of everything else from
 * the internet), a route table sending each node's pod subnet to it (NICs forward IP), static
 * private addresses, Standard public IPs only on the master and edge nodes, a NAT gateway for the
 * others' outbound traffic, a managed data disk
 * per storage node on LUN 0 (/dev/disk/azure/scsi1/lun0 in the VM).
 */
export function renderAzure(plan: CloudPlan, sshPublicKey: string): HclBody {
  if (plan.provider.type !== "azure") throw new Error("renderAzure needs an azure plan");
  const p = plan.provider;
  const rg = expr("azurerm_resource_group.cluster.name");
  const loc = expr("azurerm_resource_group.cluster.location");
  const tags = { "sprout-cluster": plan.cluster };
  const rules = ingressRules(plan).map((r, i) =>
    block("security_rule", [], attrs({
      name: r.name,
      description: r.description,
      priority: 100 + i * 10,
      direction: "Inbound",
      access: "Allow",
      protocol: r.protocol === "all" ? "*" : r.protocol === "udp" ? "Udp" : "Tcp",
      source_port_range: "*",
      destination_port_range: r.port === undefined ? "*" : r.toPort ? `${r.port}-${r.toPort}` : String(r.port),
      source_address_prefixes: r.from,
      ...(r.to === "edge" ? { destination_address_prefixes: plan.nodes.filter((n) => isEdgeNode(plan, n)).map((n) => n.privateIp) } : { destination_address_prefix: "*" }),
    })),
  );
  const body: HclBody = [
    ...terraformBlock("azurerm", "hashicorp/azurerm", "~> 4.0"),
    block("provider", ["azurerm"], [block("features", [], [])]),
    block("resource", ["azurerm_resource_group", "cluster"], attrs({ name: p.resourceGroup ?? resourceName(plan), location: p.location, tags })),
    block("resource", ["azurerm_virtual_network", "cluster"], attrs({ name: resourceName(plan), resource_group_name: rg, location: loc, address_space: [plan.nodeCidr], tags })),
    block("resource", ["azurerm_subnet", "nodes"], attrs({ name: "nodes", resource_group_name: rg, virtual_network_name: expr("azurerm_virtual_network.cluster.name"), address_prefixes: [plan.nodeCidr] })),
    block("resource", ["azurerm_network_security_group", "nodes"], [
      ...attrs({ name: resourceName(plan, "nodes"), resource_group_name: rg, location: loc }),
      ...rules,
      block("security_rule", [], attrs({ name: "deny-internet", description: "nothing else from outside", priority: 4096, direction: "Inbound", access: "Deny", protocol: "*", source_port_range: "*", destination_port_range: "*", source_address_prefix: "Internet", destination_address_prefix: "*" })),
      attr("tags", tags),
    ]),
    block("resource", ["azurerm_subnet_network_security_group_association", "nodes"], attrs({ subnet_id: expr("azurerm_subnet.nodes.id"), network_security_group_id: expr("azurerm_network_security_group.nodes.id") })),
    // Egress for nodes without a public address (Azure retired default outbound access): a NAT gateway.
    block("resource", ["azurerm_public_ip", "nat"], attrs({ name: resourceName(plan, "nat"), resource_group_name: rg, location: loc, allocation_method: "Static", sku: "Standard", tags })),
    block("resource", ["azurerm_nat_gateway", "cluster"], attrs({ name: resourceName(plan, "nat"), resource_group_name: rg, location: loc, sku_name: "Standard", tags })),
    block("resource", ["azurerm_nat_gateway_public_ip_association", "cluster"], attrs({ nat_gateway_id: expr("azurerm_nat_gateway.cluster.id"), public_ip_address_id: expr("azurerm_public_ip.nat.id") })),
    block("resource", ["azurerm_subnet_nat_gateway_association", "nodes"], attrs({ subnet_id: expr("azurerm_subnet.nodes.id"), nat_gateway_id: expr("azurerm_nat_gateway.cluster.id") })),
    block("resource", ["azurerm_route_table", "pods"], [
      ...attrs({ name: resourceName(plan, "pods"), resource_group_name: rg, location: loc }),
      ...plan.nodes.map((n) => block("route", [], attrs({ name: `pods-${n.name}`, address_prefix: n.podCidr, next_hop_type: "VirtualAppliance", next_hop_in_ip_address: n.privateIp }))),
      attr("tags", tags),
    ]),
    block("resource", ["azurerm_subnet_route_table_association", "nodes"], attrs({ subnet_id: expr("azurerm_subnet.nodes.id"), route_table_id: expr("azurerm_route_table.pods.id") })),
  ];
  for (const n of plan.nodes) {
    if (n.publicIp) body.push(block("resource", ["azurerm_public_ip", rid(n)], attrs({ name: `${resourceName(plan)}-${n.name}`, resource_group_name: rg, location: loc, allocation_method: "Static", sku: "Standard", tags })));
    body.push(
      block("resource", ["azurerm_network_interface", rid(n)], [
        ...attrs({ name: `${resourceName(plan)}-${n.name}`, resource_group_name: rg, location: loc, ip_forwarding_enabled: true }),
        block("ip_configuration", [], attrs({ name: "primary", subnet_id: expr("azurerm_subnet.nodes.id"), private_ip_address_allocation: "Static", private_ip_address: n.privateIp, public_ip_address_id: n.publicIp ? expr(`azurerm_public_ip.${rid(n)}.id`) : undefined })),
        attr("tags", tags),
      ]),
      block("resource", ["azurerm_linux_virtual_machine", rid(n)], [
        // The VM keeps the user-data it booted with: a changed one must not replace or restart it.
        block("lifecycle", [], [attr("ignore_changes", expr("[custom_data]"))]),
        ...attrs({
          name: `${plan.cluster}-${n.name}`,
          computer_name: n.name,
          resource_group_name: rg,
          location: loc,
          size: n.machineType,
          admin_username: p.sshUser,
          disable_password_authentication: true,
          network_interface_ids: [expr(`azurerm_network_interface.${rid(n)}.id`)],
          source_image_id: p.image,
          custom_data: expr(`base64encode(file("\${path.module}/user-data/${n.name}.yaml"))`),
          tags,
        }),
        block("admin_ssh_key", [], attrs({ username: p.sshUser, public_key: sshPublicKey })),
        block("os_disk", [], attrs({ caching: "ReadWrite", storage_account_type: "StandardSSD_LRS", disk_size_gb: ROOT_DISK_GIB })),
      ]),
    );
    if (n.volumeGiB) {
      body.push(
        block("resource", ["azurerm_managed_disk", `brick_${n.name}`], attrs({ name: `${resourceName(plan)}-${n.name}-brick`, resource_group_name: rg, location: loc, storage_account_type: "StandardSSD_LRS", create_option: "Empty", disk_size_gb: n.volumeGiB, tags })),
        block("resource", ["azurerm_virtual_machine_data_disk_attachment", `brick_${n.name}`], attrs({ managed_disk_id: expr(`azurerm_managed_disk.brick_${n.name}.id`), virtual_machine_id: expr(`azurerm_linux_virtual_machine.${rid(n)}.id`), lun: 0, caching: "None" })),
      );
    }
  }
  body.push(...edgeDnsRecords(plan, (n) => `azurerm_public_ip.${rid(n)}.ip_address`));
  body.push(...outputs(plan, (n) => `azurerm_public_ip.${rid(n)}.ip_address`));
  return body;
}

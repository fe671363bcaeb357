import { describe, expect, it } from "vitest";
import { EDGE_TLS, type NodeManifest } from "../../shared/node-manifest.js";
import { Step, type StepOf } from "../../shared/steps.js";
import { parseWith } from "../../shared/validate.js";
import { parseExecStart } from "./systemd-unit.js";
import { certificateSteps } from "./certificates.js";
import { edgeSteps } from "./edge.js";

/** The edge builders read the edge section, the API server endpoint, roles and files. */
const manifest = (edge: NodeManifest["edge"], endpoint?: string) =>
  ({ edge, cluster: { apiServerEndpoint: endpoint }, node: { name: "master-1", roles: ["master", "edge"], addresses: ["10.0.0.10"] }, files: [] }) as unknown as NodeManifest;
const EDGE = { baseDomain: "", userTls: false, openPorts: [22, 80, 443], internalCidrs: ["10.0.0.0/24", "10.244.0.0/16"], loadBalancer: { addresses: ["10.0.0.10"], ports: { from: 1024, to: 29999 } } };
const steps = (m: NodeManifest) => edgeSteps(m).map((s, i) => parseWith(Step, s, `step ${i}`));
const byId = <K extends Step["kind"]>(list: Step[], id: string) => list.find((s) => s.id === id) as StepOf<K>;

describe("edge builder", () => {
  it("nginx with the cluster CA's certificate, and the Ingress controller once the API server is known", () => {
    const list = steps(manifest({ ...EDGE, baseDomain: "10.0.0.10.nip.io" }, "https://10.0.0.10:6443"));
    expect(list.map((s) => s.id)).toEqual(["edge/routes-dir", "edge/nginx-conf", "edge/nginx", "edge/firewall-script", "edge/firewall", "edge/controller"]);
    // From outside the cluster's networks: SSH, HTTP, HTTPS and ICMP only, before kube-proxy's DNAT.
    const script = byId<"file">(list, "edge/firewall-script").content;
    expect(script).toContain("t -A SPROUT-EDGE-IN -s 10.0.0.0/24 -j RETURN\nt -A SPROUT-EDGE-IN -s 10.244.0.0/16 -j RETURN\n");
    // Then the LoadBalancer Services' ports (a chain the edge controller fills), then drop.
    expect(script).toContain("t -A SPROUT-EDGE-IN -p tcp -m multiport --dports 22,80,443 -j RETURN\nt -N SPROUT-EDGE-LB 2>/dev/null || true\nt -A SPROUT-EDGE-IN -j SPROUT-EDGE-LB\nt -A SPROUT-EDGE-IN -j DROP\n");
    expect(script).toContain("t -C PREROUTING -j SPROUT-EDGE-IN 2>/dev/null || t -I PREROUTING -j SPROUT-EDGE-IN");
    const conf = byId<"file">(list, "edge/nginx-conf").content;
    expect(conf).toContain("ssl_certificate /etc/kubernetes/pki/edge-server.crt;");
    expect(conf).toContain("include /etc/sprout/edge/routes/*.conf;");
    expect(byId<"systemdUnit">(list, "edge/nginx").restartOnChangeOf).toEqual(["edge/nginx-conf", "certs/edge-server"]);
    expect(parseExecStart(byId<"systemdUnit">(list, "edge/controller").content!)).toEqual([
      ["/usr/local/bin/sprout-agent", "edge", "--server", "https://10.0.0.10:6443", "--ca", "/etc/kubernetes/pki/ca.crt", "--cert", "/etc/kubernetes/pki/edge-controller.crt", "--key", "/etc/kubernetes/pki/edge-controller.key", "--base-domain", "10.0.0.10.nip.io", "--address", "10.0.0.10", "--node-name", "master-1", "--lb-addresses", "10.0.0.10", "--lb-ports", "1024-29999", "--open-ports", "22,80,443"],
    ]);
    expect(certificateSteps(manifest({ ...EDGE, baseDomain: "x.nip.io" })).map((s) => s.id)).toContain("certs/edge-server");
    // Before a master joined there is no API server to watch: nginx only.
    expect(steps(manifest({ ...EDGE, baseDomain: "x.nip.io" })).map((s) => s.id)).not.toContain("edge/controller");
  });

  it("serves the user's certificate when cluster.yaml names one, and asks the CA for none", () => {
    const m = manifest({ ...EDGE, baseDomain: "lab.example.org", userTls: true }, "https://10.0.0.10:6443");
    const list = steps(m);
    expect(byId<"file">(list, "edge/nginx-conf").content).toContain(`ssl_certificate ${EDGE_TLS.cert};\n  ssl_certificate_key ${EDGE_TLS.key};`);
    expect(byId<"systemdUnit">(list, "edge/nginx").dependsOn).toContain(`files${EDGE_TLS.key}`);
    expect(certificateSteps(m).map((s) => s.id)).toEqual(["certs/kube-proxy", "certs/cluster-dns", "certs/local-storage", ...[
      "kube-apiserver", "apiserver-kubelet-client", "apiserver-etcd-client", "front-proxy-client", "etcd-server", "etcd-peer", "kube-controller-manager", "kube-scheduler", "master-admin", "node-roles", "metrics-server",
    ].map((p) => `certs/${p}`), "certs/shared-storage", "certs/edge-controller"]);
  });

  it("nothing on nodes that are not edges", () => {
    expect(edgeSteps(manifest(undefined))).toEqual([]);
  });
});

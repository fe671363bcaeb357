import { EDGE_TLS, type NodeManifest } from "../../shared/node-manifest.js";
import type { StepInput } from "../../shared/steps.js";
import { certificatePaths } from "./certificates.js";
import { renderControllerUnit } from "./controller-unit.js";
import { EDGE_PATHS } from "../edge/nginx-routes.js";
import { edgeFirewallSteps } from "./edge-firewall.js";

export const NGINX_CONF = "/etc/nginx/nginx.conf";
export const EDGE_UNIT = "sprout-edge.service";

/**
 * The edge: nginx on ports 80 and 443 in front of the cluster's Ingress objects. The agent owns
 * nginx's main config (TLS with the edge certificate from the cluster PKI, proxy headers,
 * WebSockets for Jupyter-like tools) and runs the edge's controllers (`sprout-agent edge`,
 * sprout-edge.service): the Ingress controller writes the routes and reloads nginx as Ingresses
 * change; the LoadBalancer controller serves LoadBalancer Services on the edge addresses.
 */
export function edgeSteps(m: NodeManifest): StepInput[] {
  if (!m.edge) return [];
  // The user's certificate when cluster.yaml names one, else one from the cluster CA.
  const server = m.edge.userTls ? { certPath: EDGE_TLS.cert, keyPath: EDGE_TLS.key } : certificatePaths("edge-server");
  const tlsSteps = m.edge.userTls ? [`files${EDGE_TLS.cert}`, `files${EDGE_TLS.key}`] : ["certs/edge-server"];
  const steps: StepInput[] = [
    { id: "edge/routes-dir", kind: "directory", description: "nginx routes directory (the edge controller writes it)", path: EDGE_PATHS.routesDir, mode: 0o755 },
    { id: "edge/nginx-conf", kind: "file", description: "nginx main configuration for the edge", path: NGINX_CONF, content: renderNginxConf(server.certPath, server.keyPath), mode: 0o644 },
    {
      id: "edge/nginx",
      kind: "systemdUnit",
      description: "nginx on ports 80 and 443",
      name: "nginx.service",
      dependsOn: ["edge/routes-dir", "edge/nginx-conf", ...tlsSteps],
      restartOnChangeOf: ["edge/nginx-conf", ...tlsSteps],
    },
  ];
  steps.push(...edgeFirewallSteps(m));
  const endpoint = m.cluster.apiServerEndpoint;
  if (endpoint) {
    const unit = renderControllerUnit({
      description: "Sprout edge: routes the cluster's Ingress objects through nginx, serves LoadBalancer Services",
      after: ["nginx.service"],
      command: "edge",
      endpoint,
      profile: "edge-controller",
      args: [
        "--base-domain",
        m.edge.baseDomain,
        "--address",
        m.node.addresses[0]!,
        "--node-name",
        m.node.name,
        "--lb-addresses",
        (m.edge.loadBalancer.addresses.length > 0 ? m.edge.loadBalancer.addresses : [m.node.addresses[0]!]).join(","),
        "--lb-ports",
        `${m.edge.loadBalancer.ports.from}-${m.edge.loadBalancer.ports.to}`,
        "--open-ports",
        m.edge.openPorts.join(","),
      ],
    });
    steps.push({
      id: "edge/controller",
      kind: "systemdUnit",
      description: "the edge's Ingress controller",
      name: EDGE_UNIT,
      content: unit,
      dependsOn: ["edge/nginx", "certs/edge-controller"],
      restartOnChangeOf: ["certs/edge-controller"],
    });
  }
  return steps;
}

export function renderNginxConf(certPath: string, keyPath: string): string {
  return `# Written by sprout-agent from the node manifest; local edits are replaced.
# Routes come from ${EDGE_PATHS.routesDir}/, written by sprout-edge.service from Ingress objects.
user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;

events {
  worker_connections 4096;
}

http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log /var/log/nginx/access.log;
  sendfile on;
  server_tokens off;
  # nip.io host names are long.
  server_names_hash_bucket_size 128;
  # Research data: no upload limit, long-running requests, streamed answers.
  client_max_body_size 0;
  proxy_read_timeout 3600s;
  proxy_send_timeout 3600s;
  proxy_buffering off;
  proxy_request_buffering off;
  proxy_http_version 1.1;
  # WebSockets (Jupyter kernels, Galaxy) pass through.
  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
  }
  proxy_set_header Upgrade $http_upgrade;
  proxy_set_header Connection $connection_upgrade;
  proxy_set_header Host $host;
  proxy_set_header X-Real-IP $remote_addr;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $scheme;

  ssl_certificate ${certPath};
  ssl_certificate_key ${keyPath};
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:10m;

  include ${EDGE_PATHS.routesDir}/*.conf;
}
`;
}

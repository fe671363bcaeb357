import { describe, expect, it } from "vitest";
import { createCa } from "../../coordinator/pki/ca.js";
import { Ingress } from "./kube-objects.js";
import { tlsFileName, tlsPem, tlsRefs, TlsSecret } from "./ingress-tls.js";
import { renderNginxRoutes } from "./nginx-routes.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const ingress = (name: string, spec: object) => Ingress.parse({ metadata: { name, namespace: "lab", uid: `uid-${name}` }, spec });

describe("edge: an Ingress's own certificates (spec.tls)", () => {
  it("maps each TLS host, short names expanded, to its Ingress's Secret; the first Ingress keeps a shared host", () => {
    const refs = tlsRefs(
      [
        ingress("b", { tls: [{ hosts: ["app"], secretName: "other" }] }),
        ingress("a", { tls: [{ hosts: ["app", "api.example.org"], secretName: "app-tls" }, { hosts: ["nosecret"] }] }),
        ingress("c", { ingressClassName: "nginx", tls: [{ hosts: ["theirs"], secretName: "x" }] }),
      ],
      "10.0.0.10.nip.io",
    );
    expect(refs.map((r) => [r.host, r.secretName, r.ingress.name])).toEqual([
      ["app.10.0.0.10.nip.io", "app-tls", "a"],
      ["api.example.org", "app-tls", "a"],
    ]);
  });

  it("accepts a kubernetes.io/tls Secret whose key is its certificate's, and says what is wrong with others", async () => {
    const one = await createCa("secure.example.org");
    const two = await createCa("other");
    const secret = (type: string, crt?: string, key?: string) => TlsSecret.parse({ type, data: { ...(crt ? { "tls.crt": b64(crt) } : {}), ...(key ? { "tls.key": b64(key) } : {}) } });
    expect(tlsPem(secret("kubernetes.io/tls", one.certPem, one.keyPem))).toEqual({ pem: `${one.certPem.trim()}\n${one.keyPem.trim()}\n` });
    expect(tlsPem(secret("Opaque", one.certPem, one.keyPem))).toEqual({ error: "type Opaque, not kubernetes.io/tls" });
    expect(tlsPem(secret("kubernetes.io/tls", one.certPem))).toEqual({ error: "tls.crt or tls.key is missing" });
    expect(tlsPem(secret("kubernetes.io/tls", one.certPem, two.keyPem))).toEqual({ error: "tls.key is not the key of tls.crt" });
    expect(tlsPem(secret("kubernetes.io/tls", "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", one.keyPem))).toMatchObject({ error: expect.stringMatching(/does not parse as PEM/) });
  });

  it("serves a host's own certificate in its server block, the edge's for the rest", () => {
    const path = `/etc/sprout/edge/tls/${tlsFileName("lab", "app-tls")}`;
    expect(tlsFileName("lab", "app-tls")).toMatch(/^[0-9a-f]{24}\.pem$/);
    const text = renderNginxRoutes(
      [
        { host: "app.example.org", path: "/", exact: false, upstream: "10.96.0.20:80", source: "lab/a" },
        { host: "plain.example.org", path: "/", exact: false, upstream: "10.96.0.21:80", source: "lab/b" },
      ],
      new Map([["app.example.org", { path, digest: "sha256:abc" }]]),
    );
    expect(text).toContain(`  server_name app.example.org;\n  # certificate sha256:abc\n  ssl_certificate ${path};\n  ssl_certificate_key ${path};\n`);
    expect(text).toContain("  server_name plain.example.org;\n  # lab/b\n");
  });
});

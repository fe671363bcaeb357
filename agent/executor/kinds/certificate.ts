import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import type { StepKindImpl } from "./kind.js";
import type { Host } from "../../host/host.js";
import type { StepOf } from "../../../shared/steps.js";
import { buildCsr, generateNodeKey } from "../../identity/node-csr.js";

const DAY_MS = 86_400_000;

/**
 * A node-generated key and its coordinator-signed certificate for one profile. The key is made
 * here and kept (mode 0600) across renewals; only a CSR travels. The issuing CA's certificate is
 * not this step's to write (the manifest's files supply each CA once); it is what the result is
 * checked against. Plan mode never asks the coordinator to sign anything.
 */
export const certificateKind: StepKindImpl<"certificate"> = {
  async check(step, host) {
    const [key, cert, ca] = await Promise.all([host.readFile(step.keyPath), host.readFile(step.certPath), host.readFile(step.caPath)]);
    if (!key || !cert || !ca) return false;
    if ((await host.stat(step.keyPath))?.mode !== 0o600) return false;
    return certificateUsable(key, cert, ca, step.renewBeforeDays);
  },

  async apply(step, host, ctx) {
    const existing = await host.readFile(step.keyPath);
    const keyPem = existing?.toString("utf8") ?? (await generateNodeKey());
    await host.writeFile(step.keyPath, keyPem, 0o600);
    if (ctx.planning) {
      await recordPlannedCertificate(step, host);
      return;
    }
    if (!ctx.sign) throw new Error(`step ${step.id} needs the coordinator to sign a ${step.profile} certificate, but this run has no coordinator connection`);
    const signed = await ctx.sign(step.profile, buildCsr(keyPem, [{ name: "commonName", value: step.profile }]));
    const ca = await host.readFile(step.caPath);
    if (!ca || !sameCertificate(ca, signed.caCertificate)) {
      throw new Error(`the coordinator signed the ${step.profile} certificate with a CA other than the one in ${step.caPath}`);
    }
    await host.writeFile(step.certPath, signed.certificate, 0o644);
  },
};

/** The certificate belongs to the key, was issued by the CA and is not about to expire. */
function certificateUsable(keyPem: Buffer, certPem: Buffer, caPem: Buffer, renewBeforeDays: number): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    const keySpki = createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" });
    if (!cert.publicKey.export({ type: "spki", format: "der" }).equals(keySpki)) return false;
    if (!cert.verify(ca.publicKey)) return false;
    return Date.parse(cert.validTo) - Date.now() > renewBeforeDays * DAY_MS;
  } catch {
    return false; // unreadable material is replaced, not trusted
  }
}

async function recordPlannedCertificate(step: StepOf<"certificate">, host: Host): Promise<void> {
  await host.writeFile(step.certPath, `(a ${step.profile} certificate signed by the coordinator)\n`, 0o644);
}

function sameCertificate(a: Buffer, bPem: string): boolean {
  try {
    return new X509Certificate(a).fingerprint256 === new X509Certificate(bPem).fingerprint256;
  } catch {
    return false;
  }
}

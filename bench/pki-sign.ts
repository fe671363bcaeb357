/**
 * Node-certificate signing throughput on the coordinator: the work `POST /v1/join` does per node
 * (validate the CSR, sign the certificate), sequentially, on one core.
 *
 *   node --import tsx bench/pki-sign.ts [--n 200]
 *
 * Prints one JSON line on stdout (progress goes to stderr). Besides the join pipeline it times
 * forge's pure-JS RSA against the node:crypto path on identical inputs — the numbers behind
 * coordinator/pki/tbs-signer.ts signing with OpenSSL while forge only lays out the ASN.1.
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { verify, X509Certificate } from "node:crypto";
import forge from "node-forge";
import { createCa } from "../coordinator/pki/ca.js";
import { buildCsrPem, nodeSubject, subjectAltNames } from "../coordinator/pki/csr-fixture.js";
import { forgePrivateKeyFromPem, generateRsaKeyPair, privateKeyObject } from "../coordinator/pki/keys.js";
import { signNodeCertificate, validateNodeCsr } from "../coordinator/pki/node-csr.js";
import type { NodeCsrExpectations } from "../coordinator/pki/node-csr.js";
import { asn1ToBuffer, signCertificate } from "../shared/tbs-signer.js";
import { latencyStats, type LatencyStats } from "./stats.js";

type Stats = LatencyStats & { perSecond: number };

const WARMUP = 10;
const { values } = parseArgs({ options: { n: { type: "string", default: "200" } } });
const n = Number(values.n);
if (!Number.isInteger(n) || n < 1) throw new Error(`--n must be a positive integer, got ${values.n}`);

const progress = (msg: string) => process.stderr.write(`pki-sign: ${msg}\n`);

/** Runs `fn` once per input after a short warm-up (JIT, caches) and reports per-call latency. */
function measure<T>(inputs: T[], fn: (input: T) => unknown): Stats {
  for (const input of inputs.slice(0, WARMUP)) fn(input);
  const ms: number[] = [];
  for (const input of inputs) {
    const start = performance.now();
    fn(input);
    ms.push(performance.now() - start);
  }
  const total = ms.reduce((a, b) => a + b, 0);
  return { ...latencyStats(ms, 3), perSecond: Math.round((ms.length / total) * 1000) };
}

async function timed<T>(what: string, fn: () => Promise<T> | T): Promise<[T, number]> {
  const start = performance.now();
  const result = await fn();
  const ms = Math.round(performance.now() - start);
  progress(`${what} in ${ms} ms`);
  return [result, ms];
}

const [ca, caMs] = await timed("created the CA", () => createCa("bench-ca"));
const [nodeKeys, keygenMs] = await timed(`generated ${n} node keys (on the thread pool, as ${n} nodes would)`, () =>
  Promise.all(Array.from({ length: n }, () => generateRsaKeyPair())),
);
const nodes = nodeKeys.map((key, i) => {
  const nodeName = `node-${i}`;
  const ip = `10.${(i >> 8) & 255}.${i & 255}.10`;
  const expect: NodeCsrExpectations = { nodeName, allowedDnsNames: [nodeName], allowedIps: [ip] };
  return { key, expect };
});
const [requests, csrMs] = await timed(`built ${n} CSRs`, () =>
  nodes.map(({ key, expect }) => ({
    expect,
    csrPem: buildCsrPem({
      keyPem: key.keyPem,
      publicKeyPem: key.publicKeyPem,
      subject: nodeSubject(expect.nodeName),
      extensions: [subjectAltNames(expect.allowedDnsNames, expect.allowedIps)],
    }),
  })),
);

progress("timing the join pipeline (validateNodeCsr + signNodeCertificate)");
const pipeline = measure(requests, ({ csrPem, expect }) =>
  signNodeCertificate({ ca }, validateNodeCsr(csrPem, expect), expect.nodeName),
);

// Sign-only, same TBSCertificates both ways: re-sign certificates the pipeline issued.
const issued = requests.map(({ csrPem, expect }) =>
  forge.pki.certificateFromPem(signNodeCertificate({ ca }, validateNodeCsr(csrPem, expect), expect.nodeName)),
);
const caKeyObject = privateKeyObject(ca.keyPem);
const caForgeKey = forgePrivateKeyFromPem(ca.keyPem);
progress("timing sign-only: node:crypto");
const signNode = measure(issued, (cert) => signCertificate(cert, caKeyObject));
progress("timing sign-only: forge (pure JS)");
const signForge = measure(issued, (cert) => cert.sign(caForgeKey, forge.md.sha256.create()));
// forge's signature must be as valid as ours for the comparison to mean anything.
const caPublicKey = new X509Certificate(ca.certPem).publicKey;
const forgeSignedOk = issued.every((cert) => new X509Certificate(forge.pki.certificateToPem(cert)).verify(caPublicKey));

// CSR proof-of-possession check, both ways.
const parsed = requests.map(({ csrPem }) => forge.pki.certificationRequestFromPem(csrPem));
progress("timing CSR signature checks");
const verifyNode = measure(parsed, (csr) =>
  verify(
    "sha256",
    asn1ToBuffer(csr.certificationRequestInfo!),
    forge.pki.publicKeyToPem(csr.publicKey!),
    Buffer.from(csr.signature as string, "binary"),
  ),
);
const verifyForge = measure(parsed, (csr) => csr.verify());

const ratio = (slow: Stats, fast: Stats) => Math.round((slow.meanMs / fast.meanMs) * 10) / 10;
process.stdout.write(
  `${JSON.stringify({
    bench: "pki-sign",
    n,
    keyBits: 2048,
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    setupMs: { ca: caMs, nodeKeygen: keygenMs, csrBuild: csrMs },
    pipeline,
    signOnly: { nodeCrypto: signNode, forge: signForge, forgeOverNode: ratio(signForge, signNode), forgeSignedVerifies: forgeSignedOk },
    csrVerify: { nodeCrypto: verifyNode, forge: verifyForge, forgeOverNode: ratio(verifyForge, verifyNode) },
  })}\n`,
);

import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { checkServerIdentity, type TLSSocket, type PeerCertificate, type DetailedPeerCertificate } from "node:tls";
import { Agent, buildConnector } from "undici";
import { COORDINATOR_COMMON_NAME, caPinOfCertificate } from "../../shared/ca-pin.js";

/**
 * TLS to a coordinator we know only by its CA pin (first contact, before the node has the CA).
 * The handshake itself is unverified; right after it, the presented chain must contain a CA
 * whose public key matches the pin, the leaf must be signed by that CA, be in date and name the
 * host we dialled. No trust-on-first-use, no "skip verification" switch.
 */
export class CaPinMismatch extends Error {
  override name = "CaPinMismatch";
}

export function pinnedAgent(caPin: string, options: { connectTimeoutMs?: number } = {}): Agent {
  // No TLS session cache: a resumed session presents no certificate chain to check the pin on.
  const base = buildConnector({ rejectUnauthorized: false, timeout: options.connectTimeoutMs ?? 10_000, maxCachedSessions: 0 });
  return new Agent({
    connect: (opts, callback) =>
      base(opts, (err, socket) => {
        if (err || !socket) return callback(err ?? new Error("no socket"), null);
        try {
          verifyPinnedPeer(socket as TLSSocket, caPin, opts.hostname);
          callback(null, socket);
        } catch (verifyErr) {
          socket.destroy();
          callback(verifyErr as Error, null);
        }
      }),
  });
}

export function verifyPinnedPeer(socket: TLSSocket, caPin: string, hostname: string): void {
  const chain = peerChain(socket);
  const leaf = chain[0];
  if (!leaf) throw new CaPinMismatch(`coordinator at ${hostname} presented no certificate`);
  const ca = chain.find((c) => c.ca && caPinOfCertificate(c) === caPin);
  if (!ca) {
    const seen = chain.filter((c) => c.ca).map((c) => caPinOfCertificate(c));
    throw new CaPinMismatch(`coordinator at ${hostname} is not signed by the pinned CA ${caPin} (it presented CA ${seen.join(", ") || "none"}); refusing to send the join token`);
  }
  if (!leaf.verify(ca.publicKey)) throw new CaPinMismatch(`coordinator certificate at ${hostname} is not signed by the pinned CA`);
  const now = Date.now();
  if (Date.parse(leaf.validFrom) > now + 300_000 || Date.parse(leaf.validTo) < now) {
    throw new CaPinMismatch(`coordinator certificate at ${hostname} is outside its validity (${leaf.validFrom} – ${leaf.validTo})`);
  }
  const nameOk = isIP(hostname) ? leaf.checkIP(hostname) !== undefined : leaf.checkHost(hostname) !== undefined;
  if (!nameOk) throw new CaPinMismatch(`coordinator certificate is not valid for ${hostname} (${leaf.subjectAltName ?? "no SANs"})`);
  const subject = leaf.subject.split("\n");
  if (!isCoordinatorSubject(subject.find((l) => l.startsWith("CN="))?.slice(3), subject.filter((l) => l.startsWith("O=")).map((l) => l.slice(2)))) {
    throw new CaPinMismatch(`the server at ${hostname} is not the coordinator (certificate subject ${subject.join(", ")}); refusing to send the join token`);
  }
}

/** Only the coordinator's serving certificate has this subject; node certificates never do. */
function isCoordinatorSubject(commonName: string | undefined, organizations: string[]): boolean {
  return commonName === COORDINATOR_COMMON_NAME && organizations.length === 0;
}

/**
 * Ordinary hostname verification plus "this is the coordinator", for connections verified
 * against the cluster CA (mTLS requests and the event WebSocket).
 */
export function checkCoordinatorIdentity(hostname: string, cert: PeerCertificate): Error | undefined {
  const err = checkServerIdentity(hostname, cert);
  if (err) return err;
  const o = cert.subject?.O as string | string[] | undefined;
  const orgs = o === undefined ? [] : Array.isArray(o) ? o : [o];
  if (!isCoordinatorSubject(cert.subject?.CN as string | undefined, orgs)) {
    return new Error(`the server at ${hostname} is not the coordinator (certificate CN ${String(cert.subject?.CN)})`);
  }
  return undefined;
}

/** The certificates the server sent, leaf first, as X509Certificate objects. */
function peerChain(socket: TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let cur: PeerCertificate | DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cur && cur.raw && !seen.has(cur.fingerprint256)) {
    seen.add(cur.fingerprint256);
    out.push(new X509Certificate(cur.raw));
    cur = (cur as DetailedPeerCertificate).issuerCertificate;
  }
  return out;
}

/** mTLS to our coordinator once joined: ordinary verification against the cluster CA. */
export function mtlsAgent(identity: { caPem: string; certPem: string; keyPem: string }): Agent {
  return new Agent({ connect: { ca: identity.caPem, cert: identity.certPem, key: identity.keyPem, timeout: 10_000, checkServerIdentity: checkCoordinatorIdentity } });
}

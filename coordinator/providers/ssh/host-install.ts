import { spawn } from "node:child_process";
import type { NodeRole } from "../../../shared/roles.js";
import { CONTROL_PLANE_BINARIES, NODE_BINARIES, type BundlePart, type NodeBundle } from "./node-bundle.js";
import type { SshSession } from "./ssh-session.js";

/**
 * What the ssh provider does on one existing machine, and nothing more: find out what the host
 * lacks, send those parts of the node bundle, install them, write the bootstrap file and start
 * the agent. From then on the node pulls everything else from the coordinator, exactly as a
 * machine booted from the image does.
 */

const STAGING = "/var/lib/sprout/bundle";
const MIN_NODE = [20, 18];

export interface HostProbe {
  /** `ID VERSION_ID` from /etc/os-release, e.g. `debian 12`. */
  os: string;
  nodeVersion?: string;
  kubeletVersion?: string;
  binaries: string[];
  images: string[];
  missingPackages: string[];
  /** The host's clock (ms) when probed: agents stamp their events with it, not with ours. */
  now?: number;
}

/** One round trip: what is installed. Packages are checked by name against dpkg's database. */
export function probeScript(bundle: NodeBundle): string {
  return [
    `. /etc/os-release 2>/dev/null || true; echo "os=\${ID:-unknown} \${VERSION_ID:-}"`,
    `echo "now=$(date +%s%3N)"`,
    `[ -x /usr/local/bin/node ] && echo "node=$(/usr/local/bin/node -p process.versions.node 2>/dev/null)"`,
    `command -v kubelet >/dev/null && echo "kubelet=$(kubelet --version 2>/dev/null | sed 's/^Kubernetes v//')"`,
    `for b in ${[...NODE_BINARIES, ...CONTROL_PLANE_BINARIES].join(" ")}; do command -v "$b" >/dev/null && echo "bin=$b"; done`,
    `for i in ${bundle.images.join(" ")}; do [ -s "/usr/local/share/sprout/images/$i" ] && echo "image=$i"; done`,
    `for p in ${bundle.packages.join(" ")}; do [ "$(dpkg-query -W -f '\${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || echo "missing=$p"; done`,
    "true",
  ].join("\n");
}

export function parseProbe(stdout: string): HostProbe {
  const probe: HostProbe = { os: "unknown", binaries: [], images: [], missingPackages: [] };
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const [key, value] = [line.slice(0, eq), line.slice(eq + 1).trim()];
    if (key === "os") probe.os = value;
    else if (key === "node" && value) probe.nodeVersion = value;
    else if (key === "kubelet" && value) probe.kubeletVersion = value;
    else if (key === "bin") probe.binaries.push(value);
    else if (key === "image") probe.images.push(value);
    else if (key === "missing") probe.missingPackages.push(value);
    else if (key === "now" && /^\d+$/.test(value)) probe.now = Number(value);
  }
  return probe;
}

/** The bundle paths (relative to its directory) this host needs, by part. */
export function neededFiles(probe: HostProbe, bundle: NodeBundle, roles: NodeRole[], kubernetesVersion: string): Map<BundlePart, string[]> {
  const need = new Map<BundlePart, string[]>();
  need.set("agent", ["agent"]);
  const [major, minor] = (probe.nodeVersion ?? "0.0").split(".").map(Number) as [number, number];
  if (major < MIN_NODE[0]! || (major === MIN_NODE[0] && minor < MIN_NODE[1]!)) need.set("node", ["node"]);
  const bins = [...NODE_BINARIES, ...(roles.includes("master") ? CONTROL_PLANE_BINARIES : [])];
  // Binaries of another version are replaced, all together, so the node never mixes versions.
  const sameVersion = probe.kubeletVersion === kubernetesVersion;
  const missingBins = sameVersion ? bins.filter((b) => !probe.binaries.includes(b)) : bins;
  if (missingBins.length > 0) need.set("kubernetes", missingBins.map((b) => `kubernetes/${b}`));
  const missingImages = bundle.images.filter((i) => !probe.images.includes(i));
  if (missingImages.length > 0) need.set("images", missingImages.map((i) => `images/${i}`));
  if (probe.missingPackages.length > 0) need.set("debian", ["debian"]);
  return need;
}

/** Why the bundled packages cannot go on this host, or undefined when they can (or are not needed). */
export function packageProblem(probe: HostProbe): string | undefined {
  if (probe.missingPackages.length === 0 || probe.os === "debian 12") return undefined;
  return `${probe.os} lacks ${probe.missingPackages.join(", ")}; the bundled packages are Debian 12's: install these with the host's package manager (or boot the Sprout image) and run sprout up again`;
}

/** `sudo -n` for anyone but root: no password prompt can be answered here, so it must not ask. */
export const asRoot = (user: string, command: string): string => (user === "root" ? command : `sudo -n ${command}`);

/** Streams the needed bundle files into the host's staging directory (tar over the SSH channel). */
export async function uploadBundle(session: SshSession, user: string, bundle: NodeBundle, files: string[]): Promise<void> {
  const tar = spawn("tar", ["-c", "-h", "-C", bundle.dir, ...files], { stdio: ["ignore", "pipe", "pipe"] });
  let tarErr = "";
  tar.stderr.on("data", (d) => (tarErr += String(d)));
  const tarExit = new Promise<number>((resolve) => tar.once("close", (code) => resolve(code ?? 1)));
  const remote = asRoot(user, `sh -c 'rm -rf ${STAGING} && mkdir -p -m 0700 ${STAGING} && tar -x -C ${STAGING}'`);
  const r = await session.exec(remote, { stdin: tar.stdout });
  // The remote side's failure is the cause; our tar only lost its reader.
  if (r.code !== 0) {
    tar.kill("SIGKILL");
    throw new Error(`${session.name}: unpacking the node bundle failed (exit ${r.code}): ${r.stderr.trim().slice(-1500)}`);
  }
  const code = await tarExit;
  if (code !== 0) throw new Error(`${session.name}: packing the node bundle failed: ${tarErr.trim()}`);
}

export interface InstallInput {
  parts: BundlePart[];
  missingPackages: string[];
  /** The bootstrap file's content: it holds the join token, so it travels inside the script on stdin, never on a command line. */
  bootstrap: string;
  imageVersion: string;
}

/**
 * The install, as one shell script run as root. Package scripts must not start role services
 * (policy-rc.d): the agent starts etcd, glusterd and nginx where the node's roles need them, as in
 * the image. Only the bundle's repository is read, so a host without internet access installs.
 */
export function installScript(i: InstallInput): string {
  const has = (p: BundlePart) => i.parts.includes(p);
  const lines = ["set -eu", `B=${STAGING}`, "export DEBIAN_FRONTEND=noninteractive"];
  if (has("debian")) {
    lines.push(
      "printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d",
      "trap 'rm -f /usr/sbin/policy-rc.d' EXIT",
      `echo "deb [trusted=yes] file:$B/debian ./" >$B/sources.list`,
      `APT="-o Dir::Etc::SourceList=$B/sources.list -o Dir::Etc::SourceParts=/nonexistent -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=0"`,
      "apt-get $APT update -q >$B/apt.log 2>&1 || { tail -20 $B/apt.log >&2; exit 1; }",
      `apt-get $APT install -y -q --no-install-recommends ${i.missingPackages.join(" ")} >>$B/apt.log 2>&1 || { tail -30 $B/apt.log >&2; exit 1; }`,
      // As build-rootfs.sh does for the image: the legacy iptables backend kube-proxy 1.20 shares with the CNI plugins.
      "if [ -x /usr/sbin/iptables-legacy ]; then update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null; update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null; fi",
      "systemctl disable etcd.service glusterd.service nginx.service >/dev/null 2>&1 || true",
      "systemctl enable containerd.service >/dev/null 2>&1",
      "rm -f /usr/sbin/policy-rc.d",
      "systemctl start containerd.service",
    );
  }
  if (has("node")) lines.push("install -D -m 0755 $B/node/node /usr/local/bin/node");
  if (has("kubernetes")) lines.push("install -m 0755 $B/kubernetes/* /usr/local/bin/");
  if (has("images")) lines.push("install -d -m 0755 /usr/local/share/sprout/images", "install -m 0644 $B/images/*.tar /usr/local/share/sprout/images/");
  lines.push(
    "install -D -m 0644 $B/agent/sprout-agent.cjs /usr/local/lib/sprout/sprout-agent.cjs",
    "install -m 0755 $B/agent/sprout-agent /usr/local/bin/sprout-agent",
    "install -m 0644 $B/agent/sprout-agent.service /etc/systemd/system/sprout-agent.service",
    "install -d -m 0755 /etc/sprout",
    // A host made from the Sprout image keeps its image's version; any other is named after the bundle it got.
    `[ -s /etc/sprout/image-version ] || echo ${shellWord(`ssh-${i.imageVersion}`)} >/etc/sprout/image-version`,
    "umask 077",
    "cat >/etc/sprout/bootstrap.yaml.new <<'SPROUT_BOOTSTRAP'",
    i.bootstrap.trimEnd(),
    "SPROUT_BOOTSTRAP",
    "mv /etc/sprout/bootstrap.yaml.new /etc/sprout/bootstrap.yaml",
    "umask 022",
    "systemctl daemon-reload",
    "systemctl enable sprout-agent.service >/dev/null 2>&1",
    // A restart, not a start: a second `sprout up` brings a new agent and bootstrap into effect.
    "systemctl restart sprout-agent.service",
    "rm -rf $B",
  );
  return `${lines.join("\n")}\n`;
}

/** One shell word: as it is when it cannot be misread, single-quoted otherwise. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./=:,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

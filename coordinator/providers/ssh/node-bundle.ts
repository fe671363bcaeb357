import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { NodeImage } from "../local/node-image.js";

const run = promisify(execFile);

/**
 * The node bundle: what the ssh provider copies to an existing machine that lacks it, taken from
 * the node image that `image-build/` made (so a host ends up with exactly what a machine booted
 * from the image has):
 *   agent/       the agent bundle, its wrapper and its systemd unit (always sent)
 *   node/        the Node.js runtime the agent needs (>= 20.18)
 *   kubernetes/  kubelet, kube-proxy and the control-plane binaries
 *   images/      the OCI archives the node imports offline (pause, toolbox)
 *   debian/      the image's Debian packages as a flat apt repository (containerd, runc, CNI
 *                plugins, iptables, GlusterFS, nginx, etcd…), for Debian 12 hosts
 * Each part is a directory of symlinks into the image and the build's package cache; `tar -h`
 * sends the files themselves.
 */
export interface NodeBundle {
  dir: string;
  /** The image's package list, in install order. */
  packages: string[];
  images: string[];
  kubernetesVersion: string;
  imageVersion: string;
  /** Bytes per part, for progress. */
  sizes: Record<BundlePart, number>;
}

export type BundlePart = "agent" | "node" | "kubernetes" | "images" | "debian";

export const CONTROL_PLANE_BINARIES = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];
export const NODE_BINARIES = ["kubelet", "kube-proxy"];

const AGENT_FILES: [string, string][] = [
  ["usr/local/lib/sprout/sprout-agent.cjs", "sprout-agent.cjs"],
  ["usr/local/bin/sprout-agent", "sprout-agent"],
  ["etc/systemd/system/sprout-agent.service", "sprout-agent.service"],
];

export async function buildNodeBundle(image: NodeImage, o: { packageList: string; cacheDir?: string }): Promise<NodeBundle> {
  const cache = o.cacheDir ?? process.env.SPROUT_CACHE ?? "/var/cache/sprout";
  const dir = join(cache, "bundle", image.version);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const link = async (from: string, part: BundlePart, name: string) => {
    await mkdir(join(tmp, part), { recursive: true });
    await symlink(from, join(tmp, part, name));
  };
  for (const [from, name] of AGENT_FILES) await link(join(image.root, from), "agent", name);
  await link(join(image.root, "usr/local/bin/node"), "node", "node");
  for (const bin of [...NODE_BINARIES, ...CONTROL_PLANE_BINARIES]) await link(join(image.root, "usr/local/bin", bin), "kubernetes", bin);
  const images = (await readdir(join(image.root, "usr/local/share/sprout/images"))).filter((f) => f.endsWith(".tar")).sort();
  for (const tar of images) await link(join(image.root, "usr/local/share/sprout/images", tar), "images", tar);
  await flatAptRepo(join(cache, "debs"), join(tmp, "debian"));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);

  const packages = (await readFile(o.packageList, "utf8")).split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
  const kubelet = (await run(join(image.root, "usr/local/bin/kubelet"), ["--version"])).stdout.trim();
  const sizes = {} as Record<BundlePart, number>;
  for (const part of ["agent", "node", "kubernetes", "images", "debian"] as BundlePart[]) sizes[part] = await partSize(join(dir, part));
  return { dir, packages, images, kubernetesVersion: kubelet.replace(/^Kubernetes v/, ""), imageVersion: image.version, sizes };
}

async function partSize(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) total += (await stat(join(dir, f))).size; // stat follows the links
  return total;
}

/**
 * A flat apt repository (`deb [trusted=yes] file:<dir> ./`) of every .deb in `debsDir`: symlinks
 * and a `Packages` index with sizes and SHA-256 sums, plus a `Release` listing it. The index is
 * cached next to the debs, keyed by their names and sizes, as reading 200 packages takes seconds.
 */
export async function flatAptRepo(debsDir: string, out: string): Promise<void> {
  await mkdir(out, { recursive: true });
  const debs = (await readdir(debsDir)).filter((f) => f.endsWith(".deb")).sort();
  const sizes = await Promise.all(debs.map(async (d) => (await stat(join(debsDir, d))).size));
  const key = createHash("sha256").update(debs.map((d, i) => `${d} ${sizes[i]}`).join("\n")).digest("hex").slice(0, 16);
  const cached = join(debsDir, `.Packages-${key}`);
  let index = await readFile(cached, "utf8").catch(() => undefined);
  if (index === undefined) {
    const entries: string[] = [];
    for (const deb of debs) {
      const path = join(debsDir, deb);
      const control = (await run("dpkg-deb", ["-f", path])).stdout.trimEnd();
      const bytes = await readFile(path);
      entries.push(`${control}\nFilename: ./${deb}\nSize: ${bytes.length}\nSHA256: ${createHash("sha256").update(bytes).digest("hex")}\n`);
    }
    index = entries.join("\n");
    await writeFile(cached, index);
  }
  for (const deb of debs) await symlink(join(debsDir, deb), join(out, deb));
  await writeFile(join(out, "Packages"), index);
  const sha = createHash("sha256").update(index).digest("hex");
  await writeFile(join(out, "Release"), `Origin: sprout\nLabel: sprout node bundle\nSHA256:\n ${sha} ${Buffer.byteLength(index)} Packages\n`);
}

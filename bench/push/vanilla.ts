import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, stat, symlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { flatAptRepo } from "../../coordinator/providers/ssh/node-bundle.js";
import type { SshSession } from "../../coordinator/providers/ssh/ssh-session.js";
import type { PushHost } from "./push-machines.js";

const run = promisify(execFile);
const REPO = join(import.meta.dirname, "../..");

/**
 * The vanilla-image scenario, the paper's comparison: machines boot a plain Debian image
 * (`SPROUT_IMAGE_FLAVOR=vanilla image-build/build-rootfs.sh`) and the push side first installs
 * what Sprout's image has baked in, as Kubespray does from the internet — here from a package
 * mirror on the workstation's side, its bandwidth capped for all nodes together:
 *   /debian      the .debs of the node image's package list (a flat apt repository)
 *   /kubernetes  the Kubernetes binaries (Kubespray downloads them per node from dl.k8s.io)
 *   /images      the OCI archives (Kubespray pulls images from registries)
 * The module runtime (the agent bundle) is not on the mirror: bootstrap-os copies it to each host
 * over SSH, as Ansible sends its modules. The mirror is reached directly, not through the WAN
 * relay: no added latency on downloads, which favours the push side.
 */
export async function buildMirrorRoot(dir: string): Promise<{ root: string; packages: string[] }> {
  const cache = process.env.SPROUT_CACHE ?? "/var/cache/sprout";
  const [k8sBin, images] = await Promise.all([script("kubernetes-binaries.sh"), script("oci-images.sh")]);
  await mkdir(join(dir, "kubernetes"), { recursive: true });
  await mkdir(join(dir, "images"), { recursive: true });
  await flatAptRepo(join(cache, "debs"), join(dir, "debian"));
  for (const bin of await readdir(k8sBin)) await symlink(join(k8sBin, bin), join(dir, "kubernetes", bin));
  for (const tar of ["pause.tar", "toolbox.tar"]) await symlink(join(images, tar), join(dir, "images", tar));
  const packages = (await readFile(join(REPO, "image-build/rootfs/packages.txt"), "utf8")).split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
  return { root: dir, packages };
}

async function script(name: string): Promise<string> {
  const dir = (await run(join(REPO, "image-build", name), [], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim().split("\n").at(-1)!;
  if (!(await stat(dir)).isDirectory()) throw new Error(`${name} printed ${dir}, not a directory`);
  return dir;
}

/** A task run as a raw command (Ansible's `raw`/`shell`), before facts: the host has no module runtime yet. */
export interface RawTask {
  name: string;
  run(h: PushHost, s: SshSession): Promise<unknown>;
}

const CONTROL_PLANE = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/** What the vanilla machines need before Sprout's steps can run on them: the image build, pushed. */
export function installTasks(mirrorUrl: string, packages: string[]): RawTask[] {
  const fetchTo = (url: string, file: string, mode: string) =>
    // get_url: the target downloads it itself (Node.js is the module runtime here, as Python is for Ansible).
    `node -e 'const fs=require("fs"),{Readable}=require("stream");fetch(process.argv[1]).then(r=>{if(!r.ok)throw new Error(process.argv[1]+": HTTP "+r.status);return new Promise((ok,no)=>Readable.fromWeb(r.body).pipe(fs.createWriteStream(process.argv[2],{mode:${mode}})).on("finish",ok).on("error",no))}).catch(e=>{console.error(e.message);process.exit(1)})' ${url} ${file}`;
  return [
    {
      name: "bootstrap-os",
      run: async (_h, s) => {
        await s.run("mkdir -p /usr/local/lib/sprout /etc/sprout");
        await s.put("/usr/local/lib/sprout/sprout-agent.cjs", await readFile(join(REPO, "dist/sprout-agent.cjs"), "utf8"), 0o644);
        await s.put("/usr/local/bin/sprout-agent", await readFile(join(REPO, "image-build/agent/sprout-agent"), "utf8"), 0o755);
      },
    },
    {
      name: "install-packages",
      run: (_h, s) =>
        s.run([
          "rm -f /etc/apt/sources.list.d/*.sources /etc/apt/sources.list",
          `echo 'deb [trusted=yes] ${mirrorUrl}/debian ./' >/etc/apt/sources.list.d/mirror.list`,
          "apt-get update -q",
          `DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${packages.join(" ")}`,
        ].join(" && ")),
    },
    {
      // What build-rootfs.sh configures in Sprout's image: iptables-legacy, role services off until configured.
      name: "prepare-node",
      run: (_h, s) =>
        s.run([
          "update-alternatives --set iptables /usr/sbin/iptables-legacy",
          "update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy",
          "systemctl disable --now etcd.service glusterd.service nginx.service",
          "systemctl enable --now containerd.service",
        ].join(" && ")),
    },
    {
      name: "download-kubernetes",
      run: (h, s) => {
        const bins = ["kubelet", "kube-proxy", ...(h.roles.includes("master") ? CONTROL_PLANE : [])];
        return s.run(bins.map((b) => fetchTo(`${mirrorUrl}/kubernetes/${b}`, `/usr/local/bin/${b}`, "0o755")).join(" && "));
      },
    },
    {
      name: "download-images",
      run: (_h, s) =>
        s.run(["mkdir -p /usr/local/share/sprout/images", ...["pause.tar", "toolbox.tar"].map((t) => fetchTo(`${mirrorUrl}/images/${t}`, `/usr/local/share/sprout/images/${t}`, "0o644"))].join(" && ")),
    },
  ];
}

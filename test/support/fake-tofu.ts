import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parse as parseHcl } from "@cdktf/hcl2json";
import { parse as parseYaml } from "yaml";
import { createNodeNetwork, destroyNodeNetwork } from "../../coordinator/providers/local/node-network.js";
import { cleanupCluster, listMachines, startMachine } from "../../coordinator/providers/local/node-machine.js";
import { ensureNodeImage } from "../../coordinator/providers/local/node-image.js";
import { sshdFiles } from "../../bench/push/push-machines.js";

/**
 * A stand-in for `tofu`, for the cloud end-to-end test: it reads the AWS main.tf Sprout rendered
 * (with HashiCorp's parser) and "creates" each aws_instance as a local node machine booted from
 * Sprout's image, at the instance's private_ip, applying the instance's user-data the way
 * cloud-init does: the ssh_keys host key, write_files, the key pair in the login user's
 * authorized_keys, sshd on, then runcmd once the machine runs. `output -json` answers with the
 * master's address. Everything Sprout does after `apply` — SSH with a pinned host key, handing over
 * the state key, the coordinator on the master, the agents, the tunnel — is then the real thing.
 *
 *   tofu version | init | apply … | output -json | destroy      (run in the rendered directory)
 */
const REPO = resolve(import.meta.dirname, "../..");

interface Instance {
  name: string;
  privateIp: string;
  userData: CloudConfig;
}
interface CloudConfig {
  hostname: string;
  ssh_keys?: { ed25519_private: string; ed25519_public: string };
  write_files: { path: string; permissions: string; content: string }[];
  runcmd: string[][];
}

async function readConfig(dir: string) {
  const tf = (await parseHcl("main.tf", await readFile(join(dir, "main.tf"), "utf8"))) as Record<string, Record<string, Record<string, Record<string, unknown>[]>>>;
  const vpc = tf.resource!.aws_vpc!.cluster![0] as { cidr_block: string; tags: Record<string, string> };
  const publicKey = (tf.resource!.aws_key_pair!.admin![0] as { public_key: string }).public_key;
  const instances: Instance[] = [];
  for (const [id, list] of Object.entries(tf.resource!.aws_instance!)) {
    const name = id.replace(/^node_/, "");
    const i = list[0] as { private_ip: string; user_data: string };
    const file = /user-data\/([a-z0-9-]+\.yaml)/.exec(i.user_data)![1]!;
    instances.push({ name, privateIp: i.private_ip, userData: parseYaml(await readFile(join(dir, "user-data", file), "utf8")) as CloudConfig });
  }
  instances.sort((a, b) => a.privateIp.localeCompare(b.privateIp, undefined, { numeric: true }));
  return { cluster: vpc.tags["sprout.dev/cluster"]!, cidr: vpc.cidr_block, publicKey, instances };
}

async function apply(dir: string): Promise<void> {
  const { cluster, cidr, publicKey, instances } = await readConfig(dir);
  // Like tofu: what exists already is left as it is.
  if ((await listMachines(cluster)).length === instances.length) {
    process.stderr.write(`fake-tofu: ${instances.length} instance(s) exist; no changes\n`);
    return;
  }
  const image = await ensureNodeImage((l) => process.stderr.write(`fake-tofu: ${l}\n`), join(REPO, "image-build/build-rootfs.sh"));
  const network = await createNodeNetwork(cluster, cidr, instances.map((i) => i.name));
  await Promise.all(
    instances.map(async (inst, n) => {
      const address = network.nodes[n]!.address;
      if (address !== inst.privateIp) throw new Error(`fake-tofu: ${inst.name} wants ${inst.privateIp}, the node network gives ${address}`);
      const ud = inst.userData;
      const files = ud.write_files.map((f) => ({ path: f.path, content: f.content, mode: parseInt(f.permissions, 8) }));
      const hostKey = ud.ssh_keys && { private: ud.ssh_keys.ed25519_private, public: ud.ssh_keys.ed25519_public };
      files.push(...sshdFiles({ hostKey, authorizedKey: publicKey }));
      const machine = await startMachine({ cluster, node: inst.name, imageRoot: image.root, stateDir: join(dir, ".fake-cloud", inst.name), netns: network.nodes[n]!.netns, address, files });
      // cloud-init's runcmd runs late in boot, with systemd up (its bus answering).
      for (let t = Date.now(); ; await new Promise((r) => setTimeout(r, 250))) {
        const state = (await machine.exec(["systemctl", "is-system-running"], { timeoutMs: 10_000 })).stdout.trim();
        if (["running", "degraded"].includes(state)) break;
        if (Date.now() - t > 60_000) throw new Error(`fake-tofu: ${inst.name}: systemd is still "${state}" after 60 s`);
      }
      for (const argv of ud.runcmd) {
        const r = await machine.exec(argv, { timeoutMs: 60_000 });
        if (r.code !== 0) throw new Error(`fake-tofu: ${inst.name}: runcmd ${argv.join(" ")} failed: ${r.stderr}`);
      }
      process.stderr.write(`fake-tofu: ${inst.name} created at ${address}\n`);
    }),
  );
  await mkdir(join(dir, ".fake-cloud"), { recursive: true });
  const master = instances.find((i) => i.userData.ssh_keys)!;
  await writeFile(join(dir, ".fake-cloud", "outputs.json"), JSON.stringify({ master_public_ip: { value: master.privateIp }, edge_public_ips: { value: { [master.name]: master.privateIp } } }));
}

async function destroy(dir: string): Promise<void> {
  const { cluster } = await readConfig(dir);
  await cleanupCluster(cluster);
  await destroyNodeNetwork(cluster);
}

async function main(args: string[]): Promise<number> {
  const dir = process.cwd();
  switch (args[0]) {
    case "version":
      process.stdout.write("OpenTofu v0.0.0 (Sprout's fake cloud for tests)\n");
      return 0;
    case "init":
      return 0;
    case "apply":
      await apply(dir);
      return 0;
    case "output":
      process.stdout.write(await readFile(join(dir, ".fake-cloud", "outputs.json"), "utf8"));
      return 0;
    case "destroy":
      await destroy(dir);
      return 0;
    default:
      process.stderr.write(`fake-tofu: unknown command ${args[0]}\n`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);

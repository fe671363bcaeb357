import { randomBytes } from "node:crypto";
import type { SignResponse, CertProfileName } from "../../shared/cert-profiles.js";
import type { z } from "zod";
import type { PushRequest } from "../../agent/push-module.js";
import type { StepResult } from "../../agent/executor/executor.js";
import type { SshSession } from "../../coordinator/providers/ssh/ssh-session.js";

/**
 * One task on one host, executed as Ansible executes a module over SSH:
 * - without pipelining: make a private temp dir, PUT the arguments (SFTP), chmod, run the module
 *   and remove the dir — three commands and one transfer;
 * - with pipelining: one command with the module's input on stdin.
 * The module is `sprout-agent step` (already in the image, so unlike Ansible no module code is
 * copied per task: that favours the baseline). Questions the step asks (a CSR to sign, a barrier)
 * are answered over the same channel.
 */
export interface Answers {
  sign(profile: CertProfileName, csr: string): Promise<SignResponse>;
  signNode(csr: string): Promise<SignResponse>;
  barrier(name: string): Promise<boolean>;
}

export async function callModule(session: SshSession, request: z.input<typeof PushRequest>, o: { pipelining: boolean; answers: Answers }): Promise<StepResult> {
  const onLine = async (line: string): Promise<string | undefined> => {
    let msg: { sign?: { profile: CertProfileName; csr: string }; signNode?: string; barrier?: string };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return undefined;
    }
    try {
      if (msg.sign) return JSON.stringify({ signed: await o.answers.sign(msg.sign.profile, msg.sign.csr) });
      if (msg.signNode !== undefined) return JSON.stringify({ signed: await o.answers.signNode(msg.signNode) });
      if (msg.barrier !== undefined) return JSON.stringify({ open: await o.answers.barrier(msg.barrier) });
    } catch (err) {
      return JSON.stringify({ error: (err as Error).message });
    }
    return undefined;
  };
  const args = JSON.stringify(request);
  let out;
  if (o.pipelining) {
    out = await session.exec("sprout-agent step", { stdin: `${args}\n`, onLine });
  } else {
    const tmp = `/root/.ansible/tmp/ansible-tmp-${Date.now()}-${randomBytes(4).toString("hex")}`;
    await session.run(`( umask 77 && mkdir -p "$(echo /root/.ansible/tmp)" && mkdir "${tmp}" ) && sleep 0`);
    try {
      await session.put(`${tmp}/args.json`, args, 0o600);
      await session.run(`chmod u+x ${tmp}/ ${tmp}/args.json && sleep 0`);
    } catch (err) {
      await session.exec(`rm -f -r ${tmp}/`).catch(() => undefined);
      throw err;
    }
    out = await session.exec(`sprout-agent step --args ${tmp}/args.json; rc=$?; rm -f -r ${tmp}/ >/dev/null 2>&1; exit $rc`, { onLine });
  }
  const last = out.stdout.trim().split("\n").at(-1) ?? "";
  try {
    const parsed = JSON.parse(last) as { result?: StepResult };
    if (parsed.result) return parsed.result;
  } catch {
    // falls through to the error below
  }
  return { outcome: "failed", durationMs: 0, error: `module exited ${out.code} without a result: ${out.stderr.trim().slice(-2000)}` };
}

import { createInterface } from "node:readline";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { Step, StepOutcome } from "../shared/steps.js";
import { SignResponse } from "../shared/cert-profiles.js";
import { parseJsonWith } from "../shared/validate.js";
import { UserError } from "../shared/errors.js";
import type { Host } from "./host/host.js";
import { runOneStep, type StepResult } from "./executor/executor.js";
import { gatherFacts } from "./facts/node-facts.js";
import { loadNodeIdentity, loadOrCreateNodeKey, storeNodeIdentity } from "./identity/node-identity.js";
import { buildNodeCsr } from "./identity/node-csr.js";

/**
 * `sprout-agent step`: one step pushed by a workstation, the way an Ansible module runs one task
 * (used by the push baseline in bench/push). The request comes from a file the workstation copied
 * over first (`--args FILE`, Ansible without pipelining) or as the first line on stdin
 * (pipelining). The same channel carries the questions a step may have for the workstation,
 * one JSON line each way: a CSR to sign, for a profile or the node's own identity (the
 * workstation holds the CA, as Kubespray's first master does) and whether a barrier is open (the playbook's order decides). The last line out is
 * `{"result": …}`.
 */
export const PushRequest = z.union([
  z.object({
    step: Step,
    /** Outcomes of this node's earlier steps that the step reads (`restartOnChangeOf`). */
    earlier: z.record(z.string(), StepOutcome).default({}),
  }),
  /** The node's own key and certificate (what joining gives an agent): the first task on a host. */
  z.object({ identity: z.object({ nodeName: z.string(), addresses: z.array(z.string()) }) }),
]);
export type PushRequest = z.infer<typeof PushRequest>;

const Reply = z.union([z.object({ signed: SignResponse }), z.object({ open: z.boolean() }), z.object({ error: z.string() })]);

export async function runPushedStep(host: Host, argsFile: string | undefined): Promise<number> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const nextLine = async (what: string): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new UserError(`stdin closed while waiting for ${what}`);
    return r.value;
  };
  const raw = argsFile ? await readFile(argsFile, "utf8") : await nextLine("the request");
  const request = parseJsonWith(PushRequest, raw, argsFile ? `request file ${argsFile}` : "request on stdin");
  const ask = async (question: object): Promise<z.infer<typeof Reply>> => {
    process.stdout.write(`${JSON.stringify(question)}\n`);
    const reply = parseJsonWith(Reply, await nextLine("the workstation's answer"), "the workstation's answer");
    if ("error" in reply) throw new Error(reply.error);
    return reply;
  };
  if ("identity" in request) {
    const started = Date.now();
    const changed = await ensureIdentity(host, request.identity, async (csr) => ((await ask({ signNode: csr })) as { signed: SignResponse }).signed);
    process.stdout.write(`${JSON.stringify({ result: { outcome: changed ? "changed" : "unchanged", durationMs: Date.now() - started } })}\n`);
    process.stdin.destroy();
    return 0;
  }
  const result: StepResult = await runOneStep(request.step, {
    host,
    outcomeOf: (id) => request.earlier[id],
    barriers: async (name) => ((await ask({ barrier: name })) as { open: boolean }).open,
    sign: async (profile, csr) => ((await ask({ sign: { profile, csr } })) as { signed: SignResponse }).signed,
  });
  process.stdout.write(`${JSON.stringify({ result })}\n`);
  process.stdin.destroy();
  return result.outcome === "failed" ? 1 : 0;
}

/** A key made here and a node certificate for it, unless this node already holds a valid pair. */
async function ensureIdentity(host: Host, o: { nodeName: string; addresses: string[] }, sign: (csr: string) => Promise<SignResponse>): Promise<boolean> {
  if (await loadNodeIdentity(host)) return false;
  const keyPem = await loadOrCreateNodeKey(host);
  const signed = await sign(buildNodeCsr(keyPem, o.nodeName, [o.nodeName], o.addresses));
  // No coordinator URL: a pushed node has no coordinator to talk to.
  await storeNodeIdentity(host, signed.certificate, signed.caCertificate, "");
  return true;
}

/** `sprout-agent facts`: what Ansible's setup module gathers, as the coordinator's join sees it. */
export async function printFacts(host: Host): Promise<number> {
  process.stdout.write(`${JSON.stringify(await gatherFacts(host))}\n`);
  return 0;
}

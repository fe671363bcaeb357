import type { AgentProbe } from "../../up/provider.js";
import { findMachine, type MachineSpec } from "./node-machine.js";

/** An agent restarted this often by systemd is crash-looping, not starting. */
const CRASH_LOOP_RESTARTS = 3;

export async function probeAgent(spec: MachineSpec): Promise<AgentProbe> {
  const machine = await findMachine(spec);
  if (!machine) return { state: "failed", reason: "the node machine is not running" };
  return probeAgentIn(machine.exec);
}

/** A command run on the node as root: argv in, exit code and output back. */
export type NodeExec = (argv: string[], o?: { timeoutMs?: number }) => Promise<{ code: number; stdout: string }>;

/** The same questions asked through any way into the node (a machine's namespaces, an SSH session). */
export async function probeAgentIn(exec: NodeExec): Promise<AgentProbe> {
  const machine = { exec };
  const show = await machine.exec(["systemctl", "show", "-p", "LoadState,ActiveState,SubState,ConditionResult,NRestarts,InvocationID", "sprout-agent.service"], { timeoutMs: 10_000 });
  const props = parseProperties(show.stdout);
  if (show.code !== 0 || props.LoadState === undefined) return { state: "working", reason: "the machine is still booting" };
  if (props.LoadState === "not-found") return { state: "failed", reason: "the node image has no sprout-agent.service" };
  if (props.ConditionResult === "no") return { state: "failed", reason: "sprout-agent.service did not start: there is no bootstrap file /etc/sprout/bootstrap.yaml" };
  const said = await agentOutput(machine.exec, props.InvocationID);
  if (props.ActiveState === "failed") return { state: "failed", reason: `the agent stopped: ${said.error ?? said.last ?? "no output"}` };
  if (Number(props.NRestarts ?? 0) >= CRASH_LOOP_RESTARTS) {
    return { state: "failed", reason: `the agent keeps crashing (${props.NRestarts} restarts): ${said.error ?? said.last ?? "no output"}` };
  }
  if (said.joinFailure) return { state: "unreachable", reason: said.joinFailure };
  return { state: "working", reason: `sprout-agent is ${props.ActiveState}${said.last ? `; last: ${said.last}` : ""}` };
}

function parseProperties(text: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const line of text.trim().split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return props;
}

interface AgentOutput {
  /** The fatal error the agent printed on exit (may span lines). */
  error?: string;
  /** Its last join failure, while it is still retrying. */
  joinFailure?: string;
  last?: string;
}

/**
 * The agent's own output in its latest run (not systemd's messages about the unit). A machine's
 * boot shares the host kernel's boot id, so runs are told apart by systemd's invocation id.
 */
async function agentOutput(exec: NodeExec, invocation: string | undefined): Promise<AgentOutput> {
  const match = invocation ? [`_SYSTEMD_INVOCATION_ID=${invocation}`] : ["_SYSTEMD_UNIT=sprout-agent.service"];
  const r = await exec(["journalctl", ...match, "-n", "40", "-o", "cat", "--no-pager"], { timeoutMs: 10_000 });
  const lines = r.stdout.trimEnd().split("\n").filter((l) => l.trim() !== "");
  const out: AgentOutput = { last: clip(lines.at(-1)) };
  let fatal = lines.length - 1;
  while (fatal >= 0 && !lines[fatal]!.startsWith("sprout-agent: ")) fatal--;
  if (fatal >= 0) out.error = clip(lines.slice(fatal).join(" ").replace(/^sprout-agent: /, "").replace(/\s+/g, " "));
  const lastLog = parseLogLine(lines.at(-1));
  if (lastLog?.msg === "join attempt failed; retrying") {
    out.joinFailure = `cannot reach the coordinator at ${String(lastLog.coordinator)} (attempt ${String(lastLog.attempt)}): ${String(lastLog.reason)}`;
  }
  return out;
}

function parseLogLine(line: string | undefined): Record<string, unknown> | undefined {
  if (!line?.startsWith("{")) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function clip(text: string | undefined): string | undefined {
  return text === undefined || text.length <= 400 ? text : `${text.slice(0, 400)}…`;
}

import { spawn } from "node:child_process";
import { constants as osConstants } from "node:os";
import type { ExecOptions, ExecResult } from "./host.js";

/**
 * Runs one program on the live machine and collects its output. Output is kept as a bounded
 * *tail*: the end of a failing command's stderr is what explains the failure, and a chatty
 * program must not grow the agent's memory without limit.
 */

/** Bytes kept from the end of stdout and of stderr each. */
export const OUTPUT_TAIL_BYTES = 64 * 1024;
/** A command with no timeout of its own still must not hang the agent forever. */
export const DEFAULT_EXEC_TIMEOUT_MS = 10 * 60_000;

/** Keeps the last `limit` bytes written to it. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    // Drop whole chunks from the front while they are entirely outside the window.
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString("utf8");
  }
}

export async function runProcess(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error("exec needs a program to run (argv is empty)");
  const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const shown = argv.join(" ");

  return new Promise<ExecResult>((resolve, reject) => {
    // The caller's env extends ours: PATH and locale must survive, or `modprobe` is not found.
    const child = spawn(file, args, {
      env: { ...process.env, ...options.env },
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const stdout = new TailBuffer(OUTPUT_TAIL_BYTES);
    const stderr = new TailBuffer(OUTPUT_TAIL_BYTES);
    child.stdout?.on("data", (c: Buffer) => stdout.push(c));
    child.stderr?.on("data", (c: Buffer) => stderr.push(c));

    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);

    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${shown}`, { cause: err }));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new Error(`${shown} timed out after ${timeoutMs / 1000}s`, { cause: new Error(stderr.toString().trim() || "no output") }));
        return;
      }
      // Shell convention for "killed by a signal", so callers only ever look at one number.
      const exitCode = code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
      resolve({ code: exitCode, stdout: stdout.toString(), stderr: stderr.toString() });
    });

    if (options.input !== undefined && child.stdin) {
      // A program that exits without reading stdin makes the write fail with EPIPE; its exit
      // status is what matters, so the stream error is ignored.
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
    }
  });
}

/** The last `maxChars` characters of command output, for error messages and event log tails. */
export function outputTail(text: string, maxChars = 2000): string {
  const trimmed = text.trimEnd();
  return trimmed.length <= maxChars ? trimmed : "…" + trimmed.slice(trimmed.length - maxChars);
}

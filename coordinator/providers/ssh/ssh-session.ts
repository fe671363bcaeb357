import ssh2, { type ClientChannel, type SFTPWrapper } from "ssh2";
import { createServer, type AddressInfo, type Socket } from "node:net";
import type { Readable } from "node:stream";
import { refusal, type HostKeyPolicy } from "./host-keys.js";
const { Client } = ssh2;
type Client = InstanceType<typeof Client>;

export interface ExecOptions {
  /**
   * The command's stdin: a string written before anything else (pipelining sends the module this
   * way), or a stream piped with backpressure (a tar archive of the node bundle, hundreds of
   * megabytes that never sit in memory).
   */
  stdin?: string | Readable;
  /** Each line the command prints; a returned string is written back to its stdin. */
  onLine?: (line: string) => string | undefined | Promise<string | undefined>;
}

export interface SessionOptions {
  name: string;
  host: string;
  port: number;
  /** Login user (default root); a user other than root runs the provider's commands with sudo. */
  user?: string;
  privateKey: string;
  /** The only host key accepted (its public blob), or a pin / known_hosts policy. */
  hostKey: Buffer | HostKeyPolicy;
  timeoutMs?: number;
}

/** The host's key or the login was refused: trying again cannot help. */
export class SshRefused extends Error {}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * One SSH connection to a node, reused for every task the way Ansible's ControlPersist keeps one
 * master connection per host: each command is a new channel on it (a round trip to open, one to
 * start), as with OpenSSH multiplexing. The host key must be the one pinned for the host.
 */
export class SshSession {
  private constructor(
    private readonly client: Client,
    readonly name: string,
    /** The host key the host showed and was accepted for. */
    readonly hostKey: Buffer,
  ) {}

  /** Like Kubespray's `ConnectionAttempts=100` (about a second apart): retries until sshd answers. */
  static async openWhenUp(o: SessionOptions, attempts = 100): Promise<SshSession> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await SshSession.open(o);
      } catch (err) {
        // A refused host key or login will be refused again: only an sshd not up yet is waited for.
        if (attempt >= attempts || err instanceof SshRefused) throw err;
        // Quick at first (machines boot in about a second here), then a second apart.
        await new Promise((r) => setTimeout(r, attempt < 20 ? 250 : 1_000));
      }
    }
  }

  static open(o: SessionOptions): Promise<SshSession> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      let ready = false;
      let refused: string | undefined;
      let shown: Buffer = Buffer.alloc(0);
      client
        .once("ready", () => {
          ready = true;
          resolve(new SshSession(client, o.name, shown));
        })
        // Before ready: the connection failed. After: the commands in flight fail on their own
        // channels, so an error here must not crash the workstation.
        .on("error", (err) => {
          if (ready) return;
          const what = `ssh to ${o.name} (${o.host}:${o.port})`;
          if (refused) reject(new SshRefused(`${what}: ${refused}`));
          else if ((err as { level?: string }).level === "client-authentication") reject(new SshRefused(`${what}: login as ${o.user ?? "root"} refused: the host does not accept this key`));
          else reject(new Error(`${what}: ${err.message}`));
        })
        .connect({
          host: o.host,
          port: o.port,
          username: o.user ?? "root",
          privateKey: o.privateKey,
          readyTimeout: o.timeoutMs ?? 20_000,
          // A connection that died silently (NAT timeout, VM gone) is noticed within a minute.
          keepaliveInterval: 15_000,
          keepaliveCountMax: 4,
          // Offer first the key types known_hosts lists for the host, as OpenSSH does: a host
          // known only by its ECDSA key must not be asked for its ed25519 one and refused.
          ...(Buffer.isBuffer(o.hostKey) || !("knownHosts" in o.hostKey) || o.hostKey.knownHosts.length === 0
            ? {}
            : { algorithms: { serverHostKey: hostKeyAlgorithms(o.hostKey.knownHosts) } }),
          hostVerifier: (key: Buffer) => {
            shown = key;
            refused = Buffer.isBuffer(o.hostKey) ? (key.equals(o.hostKey) ? undefined : "host key is not the pinned one") : refusal(o.hostKey, key);
            return refused === undefined;
          },
        });
    });
  }

  /** Runs a command; `timeoutMs` (default 20 min) bounds it, as a stalled connection must not hang the run. */
  exec(command: string, o: ExecOptions & { timeoutMs?: number } = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, channel: ClientChannel) => {
        if (err) return reject(new Error(`${this.name}: cannot start "${command.slice(0, 200)}": ${err.message}`));
        let stdout = "";
        let stderr = "";
        let pending = "";
        let answering = Promise.resolve();
        const timer = setTimeout(() => {
          stderr += `\n(no end after ${o.timeoutMs ?? 1_200_000} ms: closed by the workstation)`;
          channel.close();
        }, o.timeoutMs ?? 1_200_000);
        channel.setEncoding("utf8");
        channel.stderr.setEncoding("utf8");
        channel.on("error", (e: Error) => (stderr += `\n(channel error: ${e.message})`));
        channel.on("data", (chunk: string) => {
          stdout += chunk;
          if (!o.onLine) return;
          pending += chunk;
          for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            // Answers go back in the order the questions came; one that fails is reported on
            // stderr and the command, left without its answer, fails on its own deadline.
            answering = answering
              .then(async () => {
                const reply = await o.onLine!(line);
                if (reply !== undefined && channel.writable) channel.write(`${reply}\n`);
              })
              .catch((e: Error) => void (stderr += `\n(answering failed: ${e.message})`));
          }
        });
        channel.stderr.on("data", (chunk: string) => (stderr += chunk));
        channel.once("close", (code: number | null) => {
          clearTimeout(timer);
          void answering.then(() => resolve({ code: code ?? 255, stdout, stderr }));
        });
        if (o.stdin !== undefined && typeof o.stdin !== "string") {
          const input = o.stdin;
          input.on("error", (e: Error) => {
            stderr += `\n(reading the input failed: ${e.message})`;
            channel.close();
          });
          // A channel that closes early leaves the input paused mid-stream: its producer (tar)
          // would block on a full pipe for ever. Stop reading it.
          channel.once("close", () => {
            input.unpipe(channel);
            input.destroy();
          });
          input.pipe(channel); // ends the command's stdin when the input ends
          return;
        }
        if (o.stdin !== undefined) channel.write(o.stdin);
        // With no questions expected, stdin ends now; else the command closes it when done.
        if (!o.onLine) channel.end();
      });
    });
  }

  /** Runs a command that must succeed; its stdout, or an error naming the host, exit code and stderr. */
  async run(command: string, stdin?: string): Promise<string> {
    const r = await this.exec(command, { stdin });
    if (r.code !== 0) throw new Error(`${this.name}: exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(-1500)}`);
    return r.stdout;
  }

  /**
   * A local port (127.0.0.1, chosen by the kernel) whose connections are carried over this SSH
   * connection to `host:port` as the remote side sees it, like `ssh -L`. The CLI reaches a cloud
   * coordinator and API server this way: neither is open to the internet.
   */
  async forwardLocal(host: string, port: number, localPort = 0): Promise<{ port: number; close(): Promise<void> }> {
    const open = new Set<Socket>();
    const server = createServer((socket) => {
      open.add(socket);
      // Listening before anything else: a reset before the channel opens must not crash the CLI.
      socket.on("error", () => socket.destroy()).once("close", () => open.delete(socket));
      try {
        this.client.forwardOut("127.0.0.1", socket.remotePort ?? 0, host, port, (err, stream) => {
          if (err || socket.destroyed) {
            socket.destroy();
            stream?.destroy();
            return;
          }
          socket.pipe(stream).pipe(socket);
          const end = () => {
            socket.destroy();
            stream.destroy();
          };
          socket.once("close", end);
          stream.once("error", end).once("close", end);
        });
      } catch {
        socket.destroy(); // the SSH connection is gone ("Not connected")
      }
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(localPort, "127.0.0.1", () => resolve()));
    return {
      port: (server.address() as AddressInfo).port,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of open) s.destroy(); // a `kubectl --watch` must not hold Ctrl-C up
          server.close(() => resolve());
        }),
    };
  }

  /** Resolves when the SSH connection ends (closed, or dead by keepalive). */
  get closed(): Promise<void> {
    return new Promise((resolve) => this.client.once("close", () => resolve()));
  }

  /** A new SFTP session per file, as Ansible runs `sftp` once per PUT over the shared connection. */
  async put(path: string, content: string, mode: number): Promise<void> {
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => this.client.sftp((err, s) => (err ? reject(err) : resolve(s))));
    try {
      await new Promise<void>((resolve, reject) => sftp.writeFile(path, content, { mode }, (err) => (err ? reject(new Error(`${this.name}: cannot write ${path}: ${err.message}`)) : resolve())));
    } finally {
      sftp.end();
    }
  }

  close(): void {
    this.client.end();
  }
}

/** The host-key algorithms for keys of these types, preferred first (an RSA key signs with SHA-2). */
export function hostKeyAlgorithms(blobs: Buffer[]): ssh2.ServerHostKeyAlgorithm[] {
  const out: string[] = [];
  for (const blob of blobs) {
    const type = blob.length >= 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1") : "";
    for (const alg of type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type]) if (alg && !out.includes(alg)) out.push(alg);
  }
  return out as ssh2.ServerHostKeyAlgorithm[];
}

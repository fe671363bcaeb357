import ssh2, { type ClientChannel, type SFTPWrapper } from "ssh2";
const { Client } = ssh2;
type Client = InstanceType<typeof Client>;

/**
 * One SSH connection to a node, reused for every task the way Ansible's ControlPersist keeps one
 * master connection per host: each command is a new channel on it (a round trip to open, one to
 * start), as with OpenSSH multiplexing. The host key must be the one pinned for the host.
 */
export interface ExecOptions {
  /** Written to the command's stdin before anything else (pipelining sends the module this way). */
  stdin?: string;
  /** Each line the command prints; a returned string is written back to its stdin. */
  onLine?: (line: string) => string | undefined | Promise<string | undefined>;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class SshSession {
  private constructor(
    private readonly client: Client,
    readonly name: string,
  ) {}

  static open(o: { name: string; host: string; port: number; privateKey: string; hostKey: Buffer; timeoutMs?: number }): Promise<SshSession> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      client
        .once("ready", () => resolve(new SshSession(client, o.name)))
        .once("error", (err) => reject(new Error(`ssh to ${o.name} (${o.host}:${o.port}): ${err.message}`)))
        .connect({
          host: o.host,
          port: o.port,
          username: "root",
          privateKey: o.privateKey,
          readyTimeout: o.timeoutMs ?? 20_000,
          hostVerifier: (key: Buffer) => key.equals(o.hostKey),
        });
    });
  }

  exec(command: string, o: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, channel: ClientChannel) => {
        if (err) return reject(new Error(`${this.name}: cannot start "${command}": ${err.message}`));
        let stdout = "";
        let stderr = "";
        let pending = "";
        let answering = Promise.resolve();
        channel.on("data", (chunk: Buffer) => {
          stdout += chunk.toString("utf8");
          if (!o.onLine) return;
          pending += chunk.toString("utf8");
          for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            // Answers go back in the order the questions came.
            answering = answering.then(async () => {
              const reply = await o.onLine!(line);
              if (reply !== undefined) channel.write(`${reply}\n`);
            });
          }
        });
        channel.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
        channel.once("close", (code: number | null) => {
          answering.then(() => resolve({ code: code ?? 255, stdout, stderr }), reject);
        });
        if (o.stdin !== undefined) channel.write(o.stdin);
        // With no questions expected, stdin ends now; else the command closes it when done.
        if (!o.onLine) channel.end();
      });
    });
  }

  /** Writes a file over SFTP (Ansible's PUT of the module and its arguments without pipelining). */
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

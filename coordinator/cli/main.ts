import { parseArgs } from "node:util";
import { exitAfterFlush } from "../../shared/exit.js";
import { UserError, ValidationError, ApiError, describeError } from "../../shared/errors.js";
import { SPROUT_VERSION } from "../../shared/versions.js";
import { durationMs } from "../../shared/cluster-spec.js";
import { parseFormat } from "../output.js";
import { initCommand } from "./commands/init.js";
import { serveCommand } from "./commands/serve.js";
import { tokenCommand } from "./commands/token.js";
import { statusCommand } from "./commands/status.js";
import { kubeconfigCommand } from "./commands/kubeconfig.js";
import { upCommand } from "./commands/up.js";
import { tunnelCommand } from "./commands/tunnel.js";
import { downCommand } from "./commands/down.js";

const USAGE = `sprout ${SPROUT_VERSION} — pull-based Kubernetes clusters

usage: sprout <command> [dir] [options]     (dir defaults to ./sprout-cluster)

  init [dir]                       create dir with a commented cluster.yaml and the cluster PKI
  up [dir] [--workers N] [--timeout 10m]   boot node machines and bring the cluster up
  up [dir]                         on openstack/aws/gcp/azure: render main.tf + user-data, run tofu if installed
  up [dir] --provider ssh          existing machines listed in cluster.yaml (provider.hosts): SSH installs and starts the agent
  up [dir] --dry-run               the join protocol only: agents configure skeleton roots, no machines
     [--kubeconfig FILE | --no-kubeconfig]   default: merge context sprout-<name> into ~/.kube/config
  down [dir]                       remove node machines, network and node state (keeps PKI)
  serve [dir] [--listen H:P] [--advertise NAME]...   run the coordinator
     [--sealed FILE --key-file KEY]   (a cloud master) first unseal the state sprout up sent in user-data
  status [dir] [--watch] [-o json|csv]               per-node phases and timelines
  token create [dir] [--roles r1,r2] [--ttl 2h] [--uses N] [--nodes n1,n2] [--description TEXT]
  token list [dir] | token revoke <id> [dir]
  kubeconfig [dir] [--out FILE | --merge]   admin kubeconfig for the cluster's API server
  tunnel [dir]                     (clouds) hold 127.0.0.1:16443 open to the API server through SSH to the master
  version

exit codes: 0 ok, 1 failure, 2 bad input
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: "string", short: "o" },
      watch: { type: "boolean", short: "w", default: false },
      workers: { type: "string" },
      listen: { type: "string" },
      advertise: { type: "string", multiple: true, default: [] },
      roles: { type: "string" },
      ttl: { type: "string" },
      uses: { type: "string" },
      nodes: { type: "string" },
      description: { type: "string" },
      out: { type: "string" },
      keep: { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      kubeconfig: { type: "string" },
      "no-kubeconfig": { type: "boolean", default: false },
      merge: { type: "boolean", default: false },
      timeout: { type: "string" },
      provider: { type: "string" },
      sealed: { type: "string" },
      "key-file": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const format = parseFormat(values.output);
  const dirArg = (i: number) => rest[i] ?? "sprout-cluster";
  switch (command) {
    case "version":
      process.stdout.write(`${SPROUT_VERSION}\n`);
      return 0;
    case "init":
      return initCommand(dirArg(0), format);
    case "up": {
      const workers = values.workers === undefined ? undefined : Number(values.workers);
      if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) throw new UserError(`--workers must be a whole number ≥ 0, got "${values.workers}"`);
      const timeoutMs = durationMs(values.timeout ?? "10m");
      return upCommand(dirArg(0), { workers, format, keep: values.keep, timeoutMs, machines: !values["dry-run"], kubeconfig: values["no-kubeconfig"] ? false : values.kubeconfig, provider: values.provider });
    }
    case "down": {
      return downCommand(dirArg(0));
    }
    case "serve":
      if ((values.sealed === undefined) !== (values["key-file"] === undefined)) throw new UserError("--sealed and --key-file go together");
      return serveCommand(dirArg(0), values.listen, values.advertise, values.sealed ? { file: values.sealed, keyFile: values["key-file"]! } : undefined);
    case "status":
      return statusCommand(dirArg(0), values.watch, format);
    case "tunnel":
      return tunnelCommand(dirArg(0));
    case "kubeconfig":
      return kubeconfigCommand(dirArg(0), values.out, values.merge);
    case "token": {
      const [sub, ...args] = rest;
      if (sub === "revoke") return tokenCommand(args[1] ?? "sprout-cluster", sub, { id: args[0] }, format);
      return tokenCommand(args[0] ?? "sprout-cluster", sub, values, format);
    }
    default:
      throw new UserError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => exitAfterFlush(code),
  (err: unknown) => {
    if (err instanceof UserError || err instanceof ValidationError) {
      process.stderr.write(`sprout: ${err.message}\n`);
      return exitAfterFlush(2);
    }
    if (err instanceof ApiError) {
      process.stderr.write(`sprout: ${err.message} (${err.code})\n`);
      return exitAfterFlush(err.permanent ? 2 : 1);
    }
    process.stderr.write(`sprout: ${describeError(err)}\n`);
    if (process.env.SPROUT_DEBUG) console.error(err);
    exitAfterFlush(1);
  },
);

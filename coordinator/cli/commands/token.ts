import { UserError } from "../../../shared/errors.js";
import { durationMs } from "../../../shared/cluster-spec.js";
import { NodeRole } from "../../../shared/roles.js";
import { CreateTokenRequest } from "../../../shared/status.js";
import { parseWith } from "../../../shared/validate.js";
import { openClusterApi } from "../../access/cluster-api.js";
import { printJson, table, type OutputFormat } from "../../output.js";

/** `sprout token create|list|revoke`. The secret is printed once, at creation, and never again. */
export async function tokenCommand(dir: string, sub: string | undefined, args: { roles?: string; ttl?: string; uses?: string; description?: string; id?: string; nodes?: string }, format: OutputFormat): Promise<number> {
  const api = await openClusterApi(dir);
  try {
    switch (sub) {
      case "create": {
        const req = parseWith(
          CreateTokenRequest,
          {
            roles: (args.roles ?? "service").split(",").map((r) => r.trim()),
            ttlSeconds: Math.round(durationMs(args.ttl ?? "2h") / 1000),
            maxUses: Number(args.uses ?? "1"),
            nodeNames: args.nodes?.split(",").map((n) => n.trim()),
            description: args.description ?? "",
          },
          "token options (--roles, --ttl, --uses, --nodes)",
        );
        const { token, view } = await api.createToken(req);
        if (format === "json") printJson({ token, ...view });
        else process.stdout.write(`${token}\n`);
        return 0;
      }
      case "list": {
        const tokens = await api.listTokens();
        if (format === "json") printJson(tokens);
        else
          process.stdout.write(
            table([
              ["ID", "ROLES", "USES", "EXPIRES", "STATE", "DESCRIPTION"],
              ...tokens.map((t) => [
                t.id,
                t.roles.join(","),
                `${t.usedBy.length}/${t.maxUses}`,
                new Date(t.expiresAt).toISOString(),
                t.revoked ? "revoked" : t.expiresAt < Date.now() ? "expired" : t.usedBy.length >= t.maxUses ? "used up" : "valid",
                t.description,
              ]),
            ]),
          );
        return 0;
      }
      case "revoke": {
        if (!args.id) throw new UserError("usage: sprout token revoke <id>");
        const view = await api.revokeToken(args.id);
        if (format === "json") printJson(view);
        else process.stdout.write(`revoked ${view.id}\n`);
        return 0;
      }
      default:
        throw new UserError(`usage: sprout token create|list|revoke (roles: ${NodeRole.options.join(", ")})`);
    }
  } finally {
    await api.close();
  }
}

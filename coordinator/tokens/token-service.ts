import { ApiError } from "../../shared/errors.js";
import { generateToken, hashTokenSecret, splitToken, tokenSecretMatches } from "../../shared/token.js";
import type { NodeRole } from "../../shared/roles.js";
import type { CreateTokenRequest, TokenView } from "../../shared/status.js";
import type { StateStore } from "../state/store.js";
import type { TokenRecord } from "../state/records.js";

/**
 * Join tokens: created with a TTL, a use limit and the roles they may join as; checked in
 * constant time; consumed atomically per node name; revocable.
 */
export class TokenService {
  constructor(
    private readonly store: StateStore,
    private readonly now: () => number = Date.now,
  ) {}

  async create(req: CreateTokenRequest): Promise<{ token: string; view: TokenView }> {
    let generated = generateToken();
    while (this.store.getToken(generated.id)) generated = generateToken();
    const record: TokenRecord = {
      id: generated.id,
      secretHash: hashTokenSecret(generated.secret),
      description: req.description,
      roles: req.roles,
      createdAt: this.now(),
      expiresAt: this.now() + req.ttlSeconds * 1000,
      maxUses: req.maxUses,
      nodeNames: req.nodeNames,
      usedBy: [],
      revoked: false,
    };
    await this.store.putToken(record);
    return { token: generated.token, view: toView(record) };
  }

  list(): TokenView[] {
    return this.store.listTokens().map(toView);
  }

  async revoke(id: string): Promise<TokenView> {
    return this.store.lock.run(`token:${id}`, async () => {
      const record = this.store.getToken(id);
      if (!record) throw new ApiError(404, "token_not_found", `no token with id ${id}`);
      const updated = { ...record, revoked: true };
      await this.store.putToken(updated);
      return toView(updated);
    });
  }

  /**
   * Checks a presented token without consuming it. Specific reasons (expired, revoked, used up,
   * wrong role) are only revealed once the secret matched, so a guesser learns nothing.
   */
  authorize(token: string, roles: NodeRole[], nodeName: string): TokenRecord {
    const parts = splitToken(token);
    const record = parts ? this.store.getToken(parts.id) : undefined;
    if (!parts || !record || !tokenSecretMatches(parts.secret, record.secretHash)) {
      throw new ApiError(401, "token_invalid", "the join token is not valid for this coordinator");
    }
    if (record.revoked) throw new ApiError(403, "token_revoked", `join token ${record.id} has been revoked`);
    if (record.expiresAt <= this.now()) {
      throw new ApiError(403, "token_expired", `join token ${record.id} expired at ${new Date(record.expiresAt).toISOString()}`);
    }
    const forbidden = roles.filter((r) => !record.roles.includes(r));
    if (forbidden.length > 0) {
      throw new ApiError(403, "token_role_forbidden", `join token ${record.id} does not allow role(s) ${forbidden.join(", ")} (allowed: ${record.roles.join(", ")})`);
    }
    if (record.nodeNames && !record.nodeNames.includes(nodeName)) {
      throw new ApiError(403, "token_node_forbidden", `join token ${record.id} is not for node ${nodeName}`);
    }
    if (!record.usedBy.includes(nodeName) && record.usedBy.length >= record.maxUses) {
      throw new ApiError(403, "token_exhausted", `join token ${record.id} has been used ${record.usedBy.length} of ${record.maxUses} times`);
    }
    return record;
  }

  /**
   * Records that `nodeName` used the token. Runs under the token's lock and re-checks the limit,
   * so concurrent joins can never exceed `maxUses`; a node already recorded is not counted twice.
   */
  async consume(id: string, nodeName: string): Promise<void> {
    await this.store.lock.run(`token:${id}`, async () => {
      const record = this.store.getToken(id);
      if (!record) throw new ApiError(401, "token_invalid", "the join token is not valid for this coordinator");
      if (record.usedBy.includes(nodeName)) return;
      if (record.revoked) throw new ApiError(403, "token_revoked", `join token ${record.id} has been revoked`);
      if (record.usedBy.length >= record.maxUses) {
        throw new ApiError(403, "token_exhausted", `join token ${record.id} has been used ${record.usedBy.length} of ${record.maxUses} times`);
      }
      await this.store.putToken({ ...record, usedBy: [...record.usedBy, nodeName] });
    });
  }
}

function toView(r: TokenRecord): TokenView {
  const { secretHash: _hidden, ...view } = r;
  return view;
}

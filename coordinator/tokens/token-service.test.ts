import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../shared/errors.js";
import { splitToken } from "../../shared/token.js";
import type { NodeRole } from "../../shared/roles.js";
import { StateStore } from "../state/store.js";
import { TokenService } from "./token-service.js";

let dir: string;
let store: StateStore;
let clock: number;
let tokens: TokenService;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sprout-tokens-"));
  store = await StateStore.open(dir);
  clock = 1_700_000_000_000;
  tokens = new TokenService(store, () => clock);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function create(over: { roles?: NodeRole[]; ttlSeconds?: number; maxUses?: number } = {}) {
  return tokens.create({ roles: over.roles ?? ["service"], ttlSeconds: over.ttlSeconds ?? 3600, maxUses: over.maxUses ?? 5, description: "test" });
}

/** The ApiError `fn` throws (fails the test when it throws something else or nothing). */
async function apiErrorOf(fn: () => unknown): Promise<ApiError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error("expected an ApiError");
}

/** Every file under `root`, recursively, with its content. */
async function allFiles(root: string): Promise<{ path: string; content: string }[]> {
  const out: { path: string; content: string }[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ path, content: await readFile(path, "utf8") });
  }
  return out;
}

describe("TokenService.create", () => {
  it("returns a token whose secret is stored nowhere on disk, only its hash", async () => {
    const { token, view } = await create({ roles: ["service", "storage"], ttlSeconds: 60, maxUses: 3 });
    const parts = splitToken(token)!;
    expect(parts).toBeDefined();
    expect(view).toEqual({ id: parts.id, description: "test", roles: ["service", "storage"], createdAt: clock, expiresAt: clock + 60_000, maxUses: 3, usedBy: [], revoked: false });
    expect(view).not.toHaveProperty("secretHash");

    const files = await allFiles(dir);
    expect(files.map((f) => f.path)).toEqual([join(dir, "tokens", `${parts.id}.json`)]);
    for (const f of files) {
      expect(f.content).not.toContain(parts.secret);
      expect(f.content).not.toContain(token);
    }
    expect(JSON.parse(files[0]!.content).secretHash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("writes token files with mode 0600", async () => {
    const { view } = await create();
    expect((await stat(join(dir, "tokens", `${view.id}.json`))).mode & 0o777).toBe(0o600);
    await tokens.consume(view.id, "node-a");
    expect((await stat(join(dir, "tokens", `${view.id}.json`))).mode & 0o777).toBe(0o600);
  });

  it("lists tokens without their hashes", async () => {
    await create();
    clock += 1;
    await create({ roles: ["master"] });
    const list = tokens.list();
    expect(list.map((t) => t.roles)).toEqual([["service"], ["master"]]);
    for (const t of list) expect(t).not.toHaveProperty("secretHash");
  });
});

describe("TokenService.authorize", () => {
  it("accepts a valid token for an allowed role", async () => {
    const { token, view } = await create({ roles: ["service", "storage"] });
    expect(tokens.authorize(token, ["service"], "n1").id).toBe(view.id);
    expect(tokens.authorize(token, ["service", "storage"], "n1").id).toBe(view.id);
  });

  it("says token_invalid for a wrong secret, an unknown id and a malformed token alike", async () => {
    const { token } = await create();
    const { id, secret } = splitToken(token)!;
    const wrongSecret = `${id}.${secret.slice(0, 15)}${secret[15] === "x" ? "y" : "x"}`;
    const unknownId = `${id[0] === "z" ? "y" : "z"}${id.slice(1)}.${secret}`;
    for (const bad of [wrongSecret, unknownId, "not-a-token", "", token.toUpperCase()]) {
      const err = await apiErrorOf(() => tokens.authorize(bad, ["service"], "n1"));
      expect(err.code, bad).toBe("token_invalid");
      expect(err.status).toBe(401);
      // The same words whatever was wrong, so a guesser learns nothing.
      expect(err.message).toBe("the join token is not valid for this coordinator");
    }
  });

  it("says token_revoked once revoked", async () => {
    const { token, view } = await create();
    const revoked = await tokens.revoke(view.id);
    expect(revoked.revoked).toBe(true);
    const err = await apiErrorOf(() => tokens.authorize(token, ["service"], "n1"));
    expect([err.status, err.code]).toEqual([403, "token_revoked"]);
    expect((await apiErrorOf(() => tokens.revoke("nosuch"))).code).toBe("token_not_found");
  });

  it("says token_expired at and after the expiry instant", async () => {
    const { token } = await create({ ttlSeconds: 10 });
    clock += 9_999;
    expect(() => tokens.authorize(token, ["service"], "n1")).not.toThrow();
    clock += 1;
    const err = await apiErrorOf(() => tokens.authorize(token, ["service"], "n1"));
    expect([err.status, err.code]).toEqual([403, "token_expired"]);
  });

  it("says token_role_forbidden for a role the token does not allow, naming it", async () => {
    const { token } = await create({ roles: ["service"] });
    const err = await apiErrorOf(() => tokens.authorize(token, ["service", "master"], "n1"));
    expect([err.status, err.code]).toEqual([403, "token_role_forbidden"]);
    expect(err.message).toContain("master");
  });

  it("says token_exhausted for a new node once maxUses nodes used it, but lets those nodes retry", async () => {
    const { token, view } = await create({ maxUses: 2 });
    await tokens.consume(view.id, "n1");
    await tokens.consume(view.id, "n2");
    const err = await apiErrorOf(() => tokens.authorize(token, ["service"], "n3"));
    expect([err.status, err.code]).toEqual([403, "token_exhausted"]);
    expect(tokens.authorize(token, ["service"], "n1").id).toBe(view.id);
  });

  it("checks the secret before revealing anything else", async () => {
    const { token, view } = await create({ ttlSeconds: 1 });
    await tokens.revoke(view.id);
    clock += 5_000;
    const { id } = splitToken(token)!;
    const err = await apiErrorOf(() => tokens.authorize(`${id}.0000000000000000`, ["master"], "n1"));
    expect(err.code).toBe("token_invalid");
  });
});

describe("TokenService.consume", () => {
  it("is idempotent per node name", async () => {
    const { view } = await create({ maxUses: 2 });
    await tokens.consume(view.id, "n1");
    await tokens.consume(view.id, "n1");
    await tokens.consume(view.id, "n1");
    expect(store.getToken(view.id)!.usedBy).toEqual(["n1"]);
    await tokens.consume(view.id, "n2");
    expect(store.getToken(view.id)!.usedBy).toEqual(["n1", "n2"]);
    // Full, yet a node already counted may consume again.
    await expect(tokens.consume(view.id, "n1")).resolves.toBeUndefined();
    expect((await apiErrorOf(() => tokens.consume(view.id, "n3"))).code).toBe("token_exhausted");
  });

  it("never exceeds maxUses under 50 concurrent consumes, and the disk agrees", async () => {
    const { view } = await create({ maxUses: 7 });
    const names = Array.from({ length: 50 }, (_, i) => `node-${i}`);
    const results = await Promise.allSettled(names.map((n) => tokens.consume(view.id, n)));
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(ok).toHaveLength(7);
    expect(refused).toHaveLength(43);
    for (const r of refused) expect((r.reason as ApiError).code).toBe("token_exhausted");

    const usedBy = store.getToken(view.id)!.usedBy;
    expect(usedBy).toHaveLength(7);
    expect(new Set(usedBy).size).toBe(7);
    const succeeded = names.filter((_, i) => results[i]!.status === "fulfilled");
    expect([...usedBy].sort()).toEqual([...succeeded].sort());

    const reopened = await StateStore.open(dir);
    expect(reopened.getToken(view.id)!.usedBy).toEqual(usedBy);
    // A fresh service over the reopened store keeps refusing new nodes.
    expect((await apiErrorOf(() => new TokenService(reopened, () => clock).consume(view.id, "late"))).code).toBe("token_exhausted");
  });

  it("counts concurrent retries by the same node once", async () => {
    const { view } = await create({ maxUses: 3 });
    await Promise.all(Array.from({ length: 20 }, () => tokens.consume(view.id, "same")));
    expect(store.getToken(view.id)!.usedBy).toEqual(["same"]);
  });

  it("refuses a revoked or unknown token", async () => {
    const { view } = await create();
    await tokens.revoke(view.id);
    expect((await apiErrorOf(() => tokens.consume(view.id, "n1"))).code).toBe("token_revoked");
    expect((await apiErrorOf(() => tokens.consume("zzzzzz", "n1"))).code).toBe("token_invalid");
  });
});

describe("tokens bound to node names", () => {
  it("lets only the named nodes join, and says so by code", async () => {
    const { token } = await tokens.create({ roles: ["service"], ttlSeconds: 60, maxUses: 2, nodeNames: ["service-1", "service-2"], description: "" });
    expect(tokens.authorize(token, ["service"], "service-2").nodeNames).toEqual(["service-1", "service-2"]);
    const err = await apiErrorOf(() => tokens.authorize(token, ["service"], "master-1"));
    expect([err.status, err.code]).toEqual([403, "token_node_forbidden"]);
    expect(err.message).toContain("not for node master-1");
  });

  it("keeps the binding across a reopen of the store", async () => {
    const { view } = await tokens.create({ roles: ["service"], ttlSeconds: 60, maxUses: 1, nodeNames: ["a"], description: "" });
    const reopened = new TokenService(await StateStore.open(dir), () => clock);
    expect(reopened.list().find((t) => t.id === view.id)!.nodeNames).toEqual(["a"]);
  });
});

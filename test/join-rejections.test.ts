import { generateKeyPairSync, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "../shared/versions.js";
import type { JoinRequest } from "../shared/join.js";
import { buildCsrPem, nodeSubject, subjectAltNames } from "../coordinator/pki/csr-fixture.js";
import { TestCluster, sleep, waitFor, type TestNode } from "./support/harness.js";

/**
 * Every way a join can be wrong is refused with its own error and leaves the coordinator's
 * state exactly as it was. Agent-side refusals run the real agent; malformed requests are sent
 * over real TLS from here, since a real agent would never produce them.
 */
describe("join rejections", () => {
  let cluster: TestCluster;
  let ca: string;
  let https: Agent;
  const node = (name: string): TestNode => cluster.nodes.find((n) => n.name === name)!;

  beforeAll(async () => {
    cluster = await TestCluster.create([
      { name: "master", roles: ["master"], count: 1 },
      { name: "service", roles: ["service"], count: 6 },
    ]);
    await cluster.startCoordinator();
    ca = await cluster.caCert();
    https = new Agent({ connect: { ca } });
  }, 120_000);

  afterAll(async () => {
    await https?.close();
    await cluster?.destroy();
  });

  /** Runs `fn` and asserts the durable state (tokens, nodes, events, PKI) did not change. */
  async function unchangedState<T>(fn: () => Promise<T>): Promise<T> {
    const before = await cluster.stateSnapshot();
    const result = await fn();
    expect(await cluster.stateSnapshot()).toEqual(before);
    return result;
  }

  async function agentRefused(n: TestNode, token: string, extra: Record<string, unknown> = {}) {
    await cluster.prepareNode(n, { token, ...extra });
    return unchangedState(() => cluster.startAgent(n, ["--once", "--join-timeout", "20"]).exited);
  }

  it("an agent with the wrong CA pin refuses the coordinator and never sends its token", async () => {
    const token = await cluster.createToken(["service"], 5);
    const wrongPin = `sha256:${randomBytes(32).toString("hex")}`;
    const r = await agentRefused(node("service-1"), token, { caPin: wrongPin });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not signed by the pinned CA");
    expect(r.stderr).toContain(wrongPin);
    expect((await cluster.tokens()).find((t) => token.startsWith(t.id))!.usedBy).toEqual([]);
  });

  it("an expired token is refused", async () => {
    const token = await cluster.createToken(["service"], 5, "1s");
    await sleep(1500);
    const r = await agentRefused(node("service-2"), token);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/expired at .*\(token_expired\)/);
  });

  it("a token past its use count is refused", async () => {
    const token = await cluster.createToken(["service"], 1);
    await cluster.prepareNode(node("service-3"), { token });
    // service-3 joins, then waits for an API server that this suite never starts: wait for the join.
    const joined = cluster.startAgent(node("service-3"));
    await waitFor(async () => (await cluster.status()).nodes.some((n) => n.name === "service-3"), 30_000, "service-3 to join");
    // Stop it so its (legitimate) progress events do not count as state written by the refusal below.
    joined.child.kill("SIGTERM");
    await joined.exited;
    const r = await agentRefused(node("service-4"), token);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("has been used 1 of 1 times (token_exhausted)");
  });

  it("a token for another role is refused", async () => {
    const token = await cluster.createToken(["storage"], 5);
    const r = await agentRefused(node("service-5"), token);
    expect(r.stderr).toContain("does not allow role(s) service (allowed: storage) (token_role_forbidden)");
  });

  it("a revoked token is refused", async () => {
    const token = await cluster.createToken(["service"], 5);
    const revoke = await cluster.cli(["token", "revoke", token.split(".")[0]!, cluster.dir]);
    expect(revoke.code).toBe(0);
    const r = await agentRefused(node("service-6"), token);
    expect(r.stderr).toContain("(token_revoked)");
  });

  it("a corrupt bootstrap file is reported with the file and the field", async () => {
    const root = await cluster.prepareNode(node("master-1"), { token: "x" });
    await writeFile(join(root, "etc/sprout/bootstrap.yaml"), "coordinators: [http://plain]\ntoken: nope\ncaPin: sha256:zz\nroles: [master]\n");
    const r = await unchangedState(() => cluster.startAgent(node("master-1")).exited);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`bootstrap file ${join(root, "etc/sprout/bootstrap.yaml")} is invalid`);
    expect(r.stderr).toMatch(/line 1: coordinators\[0\]: must be an https:\/\/ URL/);
    expect(r.stderr).toMatch(/line 2: token: must look like/);
  });

  describe("malformed requests over TLS", () => {
    const key = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
    let ownIp = "";
    beforeAll(() => {
      ownIp = cluster.unusedAddress();
    });

    function joinBody(token: string, overrides: Partial<JoinRequest> & { csrName?: string; sanDns?: string[]; sanIps?: string[] } = {}): JoinRequest {
      const nodeName = overrides.nodeName ?? "rogue-1";
      const csr = buildCsrPem({
        keyPem: key.privateKey,
        publicKeyPem: key.publicKey,
        subject: nodeSubject(overrides.csrName ?? nodeName),
        extensions: [subjectAltNames(overrides.sanDns ?? [nodeName], overrides.sanIps ?? [ownIp])],
      });
      return {
        protocolVersion: PROTOCOL_VERSION,
        token,
        nodeName,
        roles: ["service"],
        addresses: [ownIp],
        csr,
        facts: { hostname: nodeName, machineId: "m", cpus: 1, memoryBytes: 1, disks: [], nics: [{ name: "eth0", mac: "x", ipv4: [ownIp] }], os: "x", kernel: "x", imageVersion: "none", agentVersion: "0", oomScoreAdjRestricted: false },
        ...overrides,
      };
    }

    async function post(body: string, contentType = "application/json") {
      // `reset`: one connection per request — after refusing an oversized body the server drops the connection.
      const res = await request(`${cluster.url}/v1/join`, { method: "POST", dispatcher: https, body, reset: true, headers: { "content-type": contentType } });
      return { status: res.statusCode, body: (await res.body.json()) as { error: { code: string; message: string } } };
    }

    it("a wrong token secret is refused without saying more", async () => {
      const token = await cluster.createToken(["service"], 5);
      const forged = `${token.split(".")[0]}.${"0".repeat(16)}`;
      const r = await unchangedState(() => post(JSON.stringify(joinBody(forged))));
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("token_invalid");
    });

    it("a CSR for another subject is refused", async () => {
      const token = await cluster.createToken(["service"], 5);
      const r = await unchangedState(() => post(JSON.stringify(joinBody(token, { csrName: "master-1" }))));
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("csr_subject_forbidden");
    });

    it("a CSR naming another node's name or address is refused", async () => {
      const token = await cluster.createToken(["service"], 5);
      const other = cluster.network.nodes.find((n) => n.name === "service-3")!;
      const byName = await unchangedState(() => post(JSON.stringify(joinBody(token, { sanDns: ["rogue-1", "service-3"] }))));
      expect(byName.body.error.code).toBe("csr_san_forbidden");
      expect(byName.body.error.message).toContain("service-3");
      const byIp = await unchangedState(() => post(JSON.stringify(joinBody(token, { sanIps: [ownIp, other.address] }))));
      expect(byIp.body.error.code).toBe("csr_san_forbidden");
      expect(byIp.body.error.message).toContain(other.address);
    });

    it("claiming an address the node does not have, or one another node holds, is refused", async () => {
      const token = await cluster.createToken(["service"], 5);
      const other = cluster.network.nodes.find((n) => n.name === "service-3")!;
      const notOwn = await unchangedState(() => post(JSON.stringify(joinBody(token, { addresses: [cluster.unusedAddress(1)] }))));
      expect(notOwn.body.error.code).toBe("address_not_on_node");
      const facts = joinBody(token).facts;
      const taken = await unchangedState(() =>
        post(JSON.stringify(joinBody(token, { addresses: [other.address], sanIps: [other.address], facts: { ...facts, nics: [{ name: "eth0", mac: "x", ipv4: [other.address] }] } }))),
      );
      expect(taken.status).toBe(409);
      expect(taken.body.error.code).toBe("address_taken");
    });

    it("a node may not claim the coordinator's address, loopback, or addresses outside the node network", async () => {
      const token = await cluster.createToken(["service"], 5);
      const facts = joinBody(token).facts;
      for (const [ip, why] of [
        [cluster.network.gateway, "belongs to the coordinator"],
        ["127.0.0.1", "is not a unicast host address"],
        ["10.96.0.1", "is inside networks.serviceCidr"],
        ["192.0.2.10", "is outside networks.nodeCidr"],
      ] as const) {
        const r = await unchangedState(() => post(JSON.stringify(joinBody(token, { addresses: [ip], sanIps: [ip], facts: { ...facts, nics: [{ name: "eth0", mac: "x", ipv4: [ip] }] } }))));
        expect([r.status, r.body.error.code]).toEqual([403, "address_forbidden"]);
        expect(r.body.error.message).toContain(why);
      }
    });

    it("reserved node names and tokens bound to other names are refused", async () => {
      const token = await cluster.createToken(["service"], 5);
      const reserved = await unchangedState(() => post(JSON.stringify(joinBody(token, { nodeName: "kubernetes" }))));
      expect([reserved.status, reserved.body.error.code]).toEqual([400, "node_name_reserved"]);
      const bound = await cluster.cli(["token", "create", cluster.dir, "--roles", "service", "--uses", "1", "--nodes", "other-1", "-o", "json"]);
      const boundToken = (JSON.parse(bound.stdout) as { token: string }).token;
      const r = await unchangedState(() => post(JSON.stringify(joinBody(boundToken))));
      expect([r.status, r.body.error.code]).toEqual([403, "token_node_forbidden"]);
    });

    it("an oversized body is refused with 413", async () => {
      const r = await unchangedState(() => post(JSON.stringify({ pad: "x".repeat(200_000) })));
      expect(r.status).toBe(413);
      expect(r.body.error.code).toBe("body_too_large");
    });

    it("malformed JSON and schema violations name what is wrong", async () => {
      const bad = await unchangedState(() => post("{ not json"));
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe("invalid_request");
      expect(bad.body.error.message).toContain("malformed JSON");
      const token = await cluster.createToken(["service"], 5);
      const wrongShape = await unchangedState(() => post(JSON.stringify({ ...joinBody(token), roles: ["wizard"], nodeName: "Bad_Name" })));
      expect(wrongShape.status).toBe(400);
      expect(wrongShape.body.error.message).toContain("nodeName");
      expect(wrongShape.body.error.message).toContain("roles[0]");
    });
  });
});

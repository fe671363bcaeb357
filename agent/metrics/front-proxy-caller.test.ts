import type { TLSSocket } from "node:tls";
import { describe, expect, it } from "vitest";
import { callerFromHeaders, frontProxyCaller } from "./front-proxy-caller.js";

const socket = (cn: string, authorized = true) => ({ authorized, getPeerCertificate: () => ({ subject: { CN: cn } }) }) as unknown as TLSSocket;
const headers = { "x-remote-user": ["alice"], "x-remote-group": ["lab", "system:authenticated"], "x-remote-extra-scopes%2Fv1": ["a", "b"], "user-agent": ["kubectl"] };

describe("the front proxy's forwarded user", () => {
  it("takes user, every group and the URL-decoded extras", () => {
    expect(callerFromHeaders(headers)).toEqual({ user: "alice", groups: ["lab", "system:authenticated"], extra: { "scopes/v1": ["a", "b"] } });
  });

  it("trusts the headers only from a verified front-proxy-client certificate", () => {
    expect(frontProxyCaller(socket("front-proxy-client"), headers)?.user).toBe("alice");
    expect(frontProxyCaller(socket("system:node:n1"), headers)).toBeUndefined();
    expect(frontProxyCaller(socket("front-proxy-client", false), headers)).toBeUndefined();
    expect(frontProxyCaller(socket("front-proxy-client"), { "x-remote-group": ["x"] })).toBeUndefined();
  });
});

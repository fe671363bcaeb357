import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ValidationError } from "./errors.js";
import { ClusterSpec } from "./cluster-spec.js";
import { parseJsonWith, parseYamlWith } from "./validate.js";

describe("parseJsonWith on malformed input", () => {
  it("says what is wrong without repeating the input, which may hold a secret", () => {
    let err: unknown;
    try {
      // V8 would quote this input (it is short) in its message: `Unexpected token 'a', "{"token": abcdef}" …`.
      parseJsonWith(z.object({}), `{"token": abcdef}`, "join request");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const message = (err as Error).message;
    expect(message).toContain("join request is invalid");
    expect(message).toContain("malformed JSON");
    expect(message).not.toContain("abcdef");
  });
});

describe("unknown fields in a user's YAML", () => {
  const problems = (text: string) => {
    try {
      parseYamlWith(ClusterSpec, text, "cluster.yaml");
    } catch (e) {
      return (e as ValidationError).problems;
    }
    throw new Error("accepted");
  };

  it("refuses a misspelt field, naming its path and line and the field it meant", () => {
    expect(problems("name: demo\ncoordinator:\n  listen: 127.0.0.1:7443\n  tokenTTL: 1s\n")).toEqual([{ path: "coordinator.tokenTTL", line: 4, message: 'unknown field; did you mean "tokenTtl"?' }]);
  });

  it("lists the known fields when nothing is close", () => {
    const [p] = problems("name: demo\nworkers: 9\n");
    expect(p).toMatchObject({ path: "workers", line: 2 });
    expect(p!.message).toMatch(/^unknown field; known fields here: apiVersion, kind, name, .*nodeGroups/);
  });

  it("finds the fields inside arrays and the provider union's member", () => {
    expect(problems("name: demo\nnodeGroups:\n  - name: master\n    roles: [master]\n    count: 1\n    cpu: 2\n")).toEqual([{ path: "nodeGroups[0].cpu", line: 6, message: 'unknown field; did you mean "cpus"?' }]);
    const ssh = "name: demo\nprovider:\n  type: ssh\n  hosts:\n    - address: 10.0.0.1\n      roles: [master]\n      hostkey: SHA256:x\n";
    expect(problems(ssh)).toEqual([{ path: "provider.hosts[0].hostkey", line: 7, message: 'unknown field; did you mean "hostKey"?' }]);
    const aws = problems("name: demo\nprovider:\n  type: aws\n  region: eu-west-1\n  image: ami-1\n  regoin: x\n");
    expect(aws.find((p) => p.path === "provider.regoin")).toEqual({ path: "provider.regoin", line: 6, message: 'unknown field; did you mean "region"?' });
  });

  it("refuses every unknown field at once, and the same in JSON input (without lines)", () => {
    expect(problems("name: demo\nstorage: {replicaton: 2, volumeSize: 3}\n").map((p) => p.path)).toEqual(["storage.replicaton", "storage.volumeSize"]);
    expect(() => parseJsonWith(ClusterSpec, JSON.stringify({ name: "demo", edge: { openPort: [80] } }), "spec")).toThrow('edge.openPort: unknown field; did you mean "openPorts"?');
  });
});

import { describe, expect, it } from "vitest";
import { listOf } from "./kube-client.js";
import { Claim } from "./storage-objects.js";

describe("list responses", () => {
  it("leave out an item that does not parse, and keep every other", () => {
    const good = { metadata: { name: "a", namespace: "lab", uid: "u1" }, spec: { dataSource: { apiGroup: null, kind: "PersistentVolumeClaim", name: "src" } } };
    const odd = { metadata: { name: "b" }, spec: {} };
    const list = listOf(Claim).parse({ metadata: { resourceVersion: "7" }, items: [odd, good] });
    expect(list.metadata.resourceVersion).toBe("7");
    expect(list.items.map((c) => c.metadata.name)).toEqual(["a"]);
    expect(list.items[0]!.spec.dataSource).toEqual({ apiGroup: null, kind: "PersistentVolumeClaim", name: "src" });
  });
});

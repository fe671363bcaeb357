import { describe, expect, it } from "vitest";
import { ClusterSpec } from "../shared/cluster-spec.js";
import { parseYamlWith } from "../shared/validate.js";
import { CLUSTER_YAML_TEMPLATE } from "./cluster-yaml-template.js";

describe("the cluster.yaml sprout init writes", () => {
  it("is valid as written, with unknown fields refused", () => {
    expect(parseYamlWith(ClusterSpec, CLUSTER_YAML_TEMPLATE.replace("{{name}}", "demo"), "cluster.yaml").name).toBe("demo");
  });
});

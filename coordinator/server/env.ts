import type { HttpBindings } from "@hono/node-server";
import type { NodeRecord } from "../state/records.js";

/** Hono environment of the coordinator app: node-server bindings plus what middleware sets. */
export type AppEnv = {
  Bindings: HttpBindings;
  Variables: { node: NodeRecord; admin: string };
};

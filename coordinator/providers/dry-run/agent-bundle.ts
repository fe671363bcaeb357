import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UserError } from "../../../shared/errors.js";

/** Where `npm run build` put the single-file agent, seen from the running CLI. */
export function agentBundlePath(): string {
  const here = dirname(resolve(process.argv[1] ?? "."));
  const candidates = [process.env.SPROUT_AGENT_BUNDLE, join(here, "sprout-agent.cjs"), join(here, "..", "..", "dist", "sprout-agent.cjs"), join(here, "..", "dist", "sprout-agent.cjs")];
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) throw new UserError("dist/sprout-agent.cjs not found: run `npm run build` (bin/sprout does this on first use)");
  return found;
}

import type { Bootstrap } from "../shared/bootstrap.js";
import type { NodeFacts } from "../shared/join.js";
import { UserError } from "../shared/errors.js";

/** The addresses the node joins with: the bootstrap's list, else every non-loopback IPv4. */
export function nodeAddresses(bootstrap: Bootstrap, facts: NodeFacts): string[] {
  const own = facts.nics.flatMap((n) => n.ipv4);
  const wanted = bootstrap.addresses ?? own;
  if (wanted.length === 0) throw new UserError("the node has no IPv4 address to join with (no non-loopback interface is up)");
  return wanted;
}

import type { Step } from "../../shared/steps.js";

/**
 * Checks a plan's graph before anything runs: a half-applied plan that then trips over a typo'd
 * dependency is worse than one clear error up front. All problems are reported at once.
 */

/**
 * The steps a step must wait for. A unit's `restartOnChangeOf` counts as a dependency: whether
 * a trigger "changed this run" is only known once the trigger has finished.
 */
export function dependenciesOf(step: Step): string[] {
  const deps = [...step.dependsOn];
  if (step.kind === "systemdUnit") deps.push(...step.restartOnChangeOf);
  return [...new Set(deps)];
}

/** Throws one Error listing duplicate ids, unknown dependencies and the first cycle found. */
export function validatePlan(steps: readonly Step[]): void {
  const problems: string[] = [];
  const byId = new Map<string, Step>();
  for (const step of steps) {
    if (byId.has(step.id)) problems.push(`step id "${step.id}" is used by more than one step`);
    else byId.set(step.id, step);
  }
  for (const step of steps) {
    for (const dep of step.dependsOn) {
      if (!byId.has(dep)) problems.push(`step "${step.id}" depends on "${dep}", which is not in the plan`);
    }
    if (step.kind === "systemdUnit") {
      for (const dep of step.restartOnChangeOf) {
        if (!byId.has(dep)) problems.push(`step "${step.id}" restarts on change of "${dep}", which is not in the plan`);
      }
    }
  }
  // A cycle search over dangling edges would only repeat the problems above.
  if (problems.length === 0) {
    const cycle = findCycle(steps, byId);
    if (cycle) problems.push(`dependency cycle: ${cycle.join(" → ")} (each step depends on the next)`);
  }
  if (problems.length > 0) {
    throw new Error(`invalid step plan:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/**
 * Depth-first search with the usual three colours; a grey node reached again closes a cycle,
 * returned in dependency order with its first id repeated at the end (`a → b → a`).
 * Iterative, so a long chain of steps cannot overflow the stack.
 */
export function findCycle(steps: readonly Step[], byId: ReadonlyMap<string, Step>): string[] | undefined {
  const colour = new Map<string, "grey" | "black">();
  for (const start of steps) {
    if (colour.has(start.id)) continue;
    const path: string[] = [];
    const stack: { id: string; deps: string[]; next: number }[] = [];
    const enter = (id: string) => {
      colour.set(id, "grey");
      path.push(id);
      stack.push({ id, deps: dependenciesOf(byId.get(id)!), next: 0 });
    };
    enter(start.id);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const dep = top.deps[top.next++];
      if (dep === undefined) {
        colour.set(top.id, "black");
        stack.pop();
        path.pop();
        continue;
      }
      const c = colour.get(dep);
      if (c === "grey") return [...path.slice(path.indexOf(dep)), dep];
      if (c === undefined) enter(dep);
    }
  }
  return undefined;
}

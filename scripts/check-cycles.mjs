// Fails when the TypeScript sources import each other in a cycle. A cycle means two folders
// depend on each other, so neither can be read, tested or moved alone (issue 14). esbuild
// resolves the imports, exactly as the bundles do; its metafile is the graph.
import { build } from "esbuild";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOTS = ["agent", "coordinator", "shared", "bench", "test", "scripts"];

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : sources(path);
    return /\.ts$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

const entryPoints = ROOTS.flatMap(sources);
const result = await build({
  entryPoints,
  bundle: true,
  write: false,
  metafile: true,
  platform: "node",
  format: "esm",
  packages: "external",
  outdir: "/nonexistent",
  logLevel: "error",
});

const graph = new Map();
for (const [file, input] of Object.entries(result.metafile.inputs)) {
  graph.set(file, input.imports.filter((i) => !i.external && result.metafile.inputs[i.path]).map((i) => i.path));
}

// Tarjan's strongly connected components: every component larger than one file is a cycle.
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
let next = 0;
function visit(v) {
  index.set(v, next);
  low.set(v, next++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) !== index.get(v)) return;
  const component = [];
  for (let w; w !== v; ) {
    w = stack.pop();
    onStack.delete(w);
    component.push(w);
  }
  if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
}
for (const v of graph.keys()) if (!index.has(v)) visit(v);

if (cycles.length === 0) {
  process.stderr.write(`import cycles: none among ${graph.size} files\n`);
} else {
  process.stderr.write(`import cycles: ${cycles.length}\n`);
  for (const c of cycles) process.stderr.write(`- ${c.length} files: ${c.join(", ")}\n`);
  process.exit(1);
}

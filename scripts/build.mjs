// Bundles the agent and the CLI into single CommonJS files with esbuild. The agent bundle is
// what the node image carries: it must run with plain `node` and no node_modules beside it.
import { build } from "esbuild";
import { statSync } from "node:fs";

// Optional native add-ons the libraries try to load and work without (ssh2 falls back from its
// sshcrypto.node binding to pure JavaScript ciphers in the CLI bundle).
const external = ["cpu-features", "bufferutil", "utf-8-validate", "osx-temperature-sensor", "*.node"];

const common = { bundle: true, platform: "node", target: "node20", format: "cjs", external, legalComments: "none", logLevel: "warning", sourcemap: false };

await Promise.all([
  build({ ...common, entryPoints: ["agent/main.ts"], outfile: "dist/sprout-agent.cjs", minify: true, banner: { js: "#!/usr/bin/env node" } }),
  build({ ...common, entryPoints: ["coordinator/cli/main.ts"], outfile: "dist/sprout.cjs", minify: true, banner: { js: "#!/usr/bin/env node" } }),
]);
for (const f of ["dist/sprout-agent.cjs", "dist/sprout.cjs"]) {
  process.stderr.write(`built ${f} (${(statSync(f).size / 1024).toFixed(0)} KiB)\n`);
}

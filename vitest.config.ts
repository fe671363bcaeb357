import { defineConfig } from "vitest/config";

// Unit tests sit next to the code; integration/e2e suites live in test/ and run real processes,
// so they get longer timeouts and run one file at a time (this machine has two cores).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["shared/**/*.test.ts", "coordinator/**/*.test.ts", "agent/**/*.test.ts", "bench/**/*.test.ts", "packer/**/*.test.ts", "scripts/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

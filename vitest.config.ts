import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real backends on private sockets and ports;
    // files run in parallel, tests inside a file one after another.
    fileParallelism: true,
  },
});

// Finding the real backends the integration tests run. Where one is missing
// on a developer machine the tests skip and say what to install; under CI
// (CI=true) a missing binary is an error, never a skip.

import { accessSync, constants } from "node:fs";

const SEARCH = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"];

export function findBinary(names: string[]): string | undefined {
  for (const name of names) {
    for (const dir of SEARCH) {
      const path = `${dir}/${name}`;
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The binary's path, or undefined with a printed reason; throws under CI. */
export function requireBinary(names: string[], debianPackage: string): string | undefined {
  const found = findBinary(names);
  if (found) return found;
  const message = `${names[0]} not found: install it with \`apt-get install -y ${debianPackage}\``;
  if (process.env.CI) throw new Error(message);
  console.warn(`skipping: ${message}`);
  return undefined;
}

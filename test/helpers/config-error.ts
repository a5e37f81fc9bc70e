// The ConfigError a postern.toml text must be refused with, for the tests
// that check each refusal names its key and line.

import type { Accounts } from "../../src/accounts.ts";
import { ConfigError, parseConfig, type GatewaySchema } from "../../src/config.ts";

/** Parses `text` as postern.toml and returns the ConfigError it must throw. */
export function configError(text: string, gateways: Record<string, GatewaySchema>, accounts?: Accounts): ConfigError {
  try {
    parseConfig(text, "postern.toml", gateways, accounts);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

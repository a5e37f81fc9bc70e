#!/usr/bin/env node
// Launcher: lets Node run postern's TypeScript sources directly.
import { register } from "tsx/esm/api";

register();
await import("./postern.ts");

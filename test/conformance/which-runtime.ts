// Prints which runtime `import ... from "postern"` resolved to: the package's
// exports map picks it by condition (deno, bun, node).
import * as postern from "postern";

const runtimes = ["nodeRuntime", "denoRuntime", "bunRuntime", "workersRuntime"].filter((name) => name in postern);
console.log(runtimes.join(","));

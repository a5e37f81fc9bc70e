// Backend and listen addresses as DESIGN.md writes them:
// `127.0.0.1:9000`, `tcp://host:port`, `[::1]:9000`, `unix:/path/to.sock`.

export type Address =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "unix"; path: string };

export class AddressError extends Error {}

export function parseAddress(text: string): Address {
  const input = text.trim();
  if (input.startsWith("unix:")) {
    const path = input.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
    if (!path.startsWith("/") && !path.startsWith(".")) {
      throw new AddressError(`unix socket address needs a path: ${JSON.stringify(text)}`);
    }
    return { kind: "unix", path };
  }
  const rest = input.startsWith("tcp://") ? input.slice("tcp://".length) : input;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]/]+)):(\d{1,5})$/.exec(rest);
  if (!match) {
    throw new AddressError(
      `not an address: ${JSON.stringify(text)} (expected host:port, tcp://host:port, [::1]:port or unix:/path)`,
    );
  }
  const port = Number(match[3]);
  if (port > 65535) throw new AddressError(`port out of range in ${JSON.stringify(text)}`);
  return { kind: "tcp", host: match[1] ?? match[2]!, port };
}

export function formatAddress(addr: Address): string {
  if (addr.kind === "unix") return `unix:${addr.path}`;
  return addr.host.includes(":") ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

// The error the FastCGI codec throws on malformed input (FastCGI spec §3.3, §3.4, §5); the client maps it to a 502.

export class FastCgiProtocolError extends Error {
  override name = "FastCgiProtocolError";
}

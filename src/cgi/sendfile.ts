// The fields a backend sets to have the server send a file in its place:
// X-Sendfile (Apache's mod_xsendfile, lighttpd), X-LIGHTTPD-send-file
// (lighttpd's older name) and X-Accel-Redirect (nginx). They name a path on
// the server, so they never reach the client whatever the route allows
// (answer.ts drops them); a route that allows it (gateways/sendfile.ts)
// serves the file named, which it finds recorded here for the response.

/** The fields, lower case, in the order one is taken when several are set. */
export const SENDFILE_FIELDS = ["x-sendfile", "x-lighttpd-send-file", "x-accel-redirect"] as const;

export interface SendfileRequest {
  /** The field as the backend named it. */
  field: string;
  value: string;
}

const requests = new WeakMap<Response, SendfileRequest>();

/** Records that `response` came with `request`; returns the response. */
export function withSendfile(response: Response, request: SendfileRequest | undefined): Response {
  if (request) requests.set(response, request);
  return response;
}

/** The file the backend asked to be sent in place of `response`'s body, if it asked. */
export function sendfileOf(response: Response): SendfileRequest | undefined {
  return requests.get(response);
}

/** The first sendfile field of a head's fields, if any. */
export function sendfileField(headers: readonly [string, string][]): SendfileRequest | undefined {
  let found: SendfileRequest | undefined;
  let rank: number = SENDFILE_FIELDS.length;
  for (const [name, value] of headers) {
    const at = (SENDFILE_FIELDS as readonly string[]).indexOf(name.toLowerCase());
    if (at >= 0 && at < rank) {
      rank = at;
      found = { field: name, value };
    }
  }
  return found;
}

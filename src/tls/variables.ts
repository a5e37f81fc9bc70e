// The variables lighttpd's mod_openssl gives backends of a TLS connection
// (its http_cgi_ssl_env and https_add_ssl_client_entries), named and spelt
// as it spells them, so that a script moved from lighttpd reads the same:
// SSL_PROTOCOL ("TLSv1.3"), SSL_CIPHER (OpenSSL's name), and with client
// certificates SSL_CLIENT_VERIFY, SSL_CLIENT_S_DN (X509_NAME_oneline's
// "/C=../CN=.."), SSL_CLIENT_S_DN_<field>, SSL_CLIENT_I_DN, SSL_CLIENT_M_SERIAL.

import type { TlsFacts } from "../cgi/conn.ts";

/** The SSL_* variables for a connection's TLS facts (what the runtime told; the rest left out). */
export function sslVariables(facts: TlsFacts): Record<string, string> {
  const env: Record<string, string> = {};
  if (facts.protocol !== undefined) env.SSL_PROTOCOL = facts.protocol;
  if (facts.cipher !== undefined) env.SSL_CIPHER = facts.cipher;
  const client = facts.client;
  if (client === undefined) return env;
  env.SSL_CLIENT_VERIFY = client.verify;
  if (client.subject !== undefined) {
    env.SSL_CLIENT_S_DN = oneLine(client.subject);
    for (const [field, value] of client.subject) env[`SSL_CLIENT_S_DN_${field}`] = value;
  }
  if (client.issuer !== undefined) env.SSL_CLIENT_I_DN = oneLine(client.issuer);
  if (client.serial !== undefined) env.SSL_CLIENT_M_SERIAL = client.serial.toUpperCase();
  return env;
}

/** A distinguished name as OpenSSL's X509_NAME_oneline writes it: `/C=DE/O=Example/CN=alice`. */
function oneLine(name: readonly (readonly [string, string])[]): string {
  return name.map(([field, value]) => `/${field}=${value}`).join("");
}

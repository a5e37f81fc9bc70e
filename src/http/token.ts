// RFC 9110 §5.6.2: token = 1*tchar, the grammar of field names, methods and
// the names in Forwarded pairs and cookies.

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `text` is an RFC 9110 token. */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

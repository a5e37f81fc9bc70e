// The PHP authorizer the authorizer tests run under php-fpm (FastCGI spec
// §6.3), and the Basic credentials the auth tests send.

/** Lets in `Bearer good-token`, or the user alice, only when asked as an Authorizer; tells what it was sent. */
export const AUTHORIZER_PHP = `<?php
$asked = [
  'role' => $_SERVER['FCGI_ROLE'] ?? '',
  'body' => file_get_contents('php://input'),
  'unsent' => array_values(array_intersect(['CONTENT_LENGTH', 'PATH_INFO', 'PATH_TRANSLATED', 'SCRIPT_NAME'], array_keys($_SERVER))),
];
if (($_SERVER['HTTP_AUTHORIZATION'] ?? '') === 'Bearer slow') sleep(3);
// After Basic authentication by postern, the user it found instead.
$allowed = ($_SERVER['HTTP_AUTHORIZATION'] ?? '') === 'Bearer good-token' || ($_SERVER['REMOTE_USER'] ?? '') === 'alice';
if ($allowed && $asked['role'] === 'AUTHORIZER') {
  header('Variable-USER_ID: 42');
  header('Variable-Asked: ' . base64_encode(json_encode($asked)));
  header('Variable-SCRIPT_FILENAME: /etc/passwd');
  exit;
}
http_response_code(403);
header('X-Reason: bad token');
header('Variable-Leak: secret');
echo "no entry\\n";
`;

/** An Authorization field with Basic credentials (RFC 7617 §2), UTF-8. */
export function basic(user: string, password: string): string {
  return "Basic " + Buffer.from(`${user}:${password}`, "utf8").toString("base64");
}

/* The smallest CGI program: the same source is run natively (lighttpd
 * mod_cgi) and as a WASI module (postern) by the benchmark. */
#include <stdio.h>

int main(void) {
  fputs("Content-Type: text/plain\r\n\r\nHello, world!\n", stdout);
  return 0;
}

/* A CGI program for exercising a WASI host: what it does is chosen by its
 * PATH_INFO (/env, /echo, /cookies, /redirect, /status, /trap, /loop, /grow,
 * /flood, /pause, /files, /volume, /stderr, /exit3). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char **environ;

static void head(const char *type) { printf("Content-Type: %s\r\n\r\n", type); }

int main(int argc, char **argv) {
  const char *what = getenv("PATH_INFO");
  if (!what) what = "/env";

  if (strcmp(what, "/env") == 0) {
    /* Every variable and argument, one per line; then stdin's length. */
    head("text/plain");
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; *e; e++) printf("env:%s\n", *e);
    long n = 0;
    int c;
    while ((c = getchar()) != EOF) n++;
    printf("stdin=%ld\n", n);
  } else if (strcmp(what, "/echo") == 0) {
    head("application/octet-stream");
    static char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
  } else if (strcmp(what, "/cookies") == 0) {
    printf("Status: 201 Made\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nSet-Cookie: c=3\r\n\r\ncookies\n");
  } else if (strcmp(what, "/redirect") == 0) {
    printf("Location: /probe/env?redirected=1\r\n\r\n");
  } else if (strcmp(what, "/trap") == 0) {
    head("text/plain");
    fflush(stdout);
    __builtin_trap();
  } else if (strcmp(what, "/loop") == 0) {
    for (volatile unsigned long i = 0;; i++) {
    }
  } else if (strcmp(what, "/grow") == 0) {
    /* Memory without end, each block kept in a list so that none can be
     * optimised away. */
    void **list = NULL;
    size_t total = 0;
    for (;;) {
      void **block = malloc(1 << 20);
      if (!block) {
        head("text/plain");
        printf("malloc failed after %zu MiB\n", total);
        return 0;
      }
      memset(block, 1, 1 << 20);
      *block = list;
      list = block;
      total++;
    }
  } else if (strcmp(what, "/flood") == 0) {
    /* Output without end, as fast as it is taken. */
    head("application/octet-stream");
    static char buf[65536];
    memset(buf, 'x', sizeof buf);
    for (;;) fwrite(buf, 1, sizeof buf, stdout);
  } else if (strcmp(what, "/pause") == 0) {
    /* Output flushed, then computing for QUERY_STRING milliseconds without a
     * call to the host, then the rest. */
    head("text/plain");
    printf("before\n");
    fflush(stdout);
    const char *query = getenv("QUERY_STRING");
    long ms = query && *query ? atol(query) : 1000;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    volatile unsigned long spins = 0;
    do {
      for (int i = 0; i < 100000; i++) spins++;
      clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
    printf("after\n");
  } else if (strcmp(what, "/files") == 0) {
    /* The host's files must be out of reach. */
    head("text/plain");
    const char *paths[] = {"/etc/passwd", "../../etc/passwd", "etc/passwd", "."};
    for (int i = 0; i < 4; i++) {
      FILE *f = fopen(paths[i], "r");
      printf("%s: %s\n", paths[i], f ? "OPENED" : strerror(errno));
      if (f) fclose(f);
    }
  } else if (strcmp(what, "/volume") == 0) {
    /* A read-only directory mounted at /data: its file, its listing, and
     * ways out of it or into writing, which must all fail. */
    head("text/plain");
    FILE *f = fopen("/data/hello.txt", "r");
    char line[256] = "";
    if (f) {
      if (!fgets(line, sizeof line, f)) line[0] = 0;
      fclose(f);
    }
    printf("hello.txt: %s", f ? line : strerror(errno));
    if (f) printf("\n");
    DIR *d = opendir("/data");
    if (d) {
      struct dirent *e;
      while ((e = readdir(d))) {
        if (e->d_name[0] != '.') printf("entry: %s\n", e->d_name);
      }
      closedir(d);
    } else {
      printf("opendir: %s\n", strerror(errno));
    }
    const char *outside[] = {"/data/../../etc/passwd", "/data/../secret", "/etc/passwd", "/data/sub/../../x"};
    for (int i = 0; i < 4; i++) {
      FILE *o = fopen(outside[i], "r");
      printf("%s: %s\n", outside[i], o ? "OPENED" : strerror(errno));
      if (o) fclose(o);
    }
    FILE *w = fopen("/data/new.txt", "w");
    printf("write: %s\n", w ? "OPENED" : strerror(errno));
    if (w) fclose(w);
  } else if (strcmp(what, "/stderr") == 0) {
    fprintf(stderr, "a line for the log\n");
    head("text/plain");
    printf("ok\n");
  } else if (strcmp(what, "/exit3") == 0) {
    return 3;
  } else {
    printf("Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such probe\n");
  }
  return 0;
}

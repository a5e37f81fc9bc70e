/*
 * What a script the spawner starts may reach (spawner.c): the directory it
 * runs in, opened beneath the route's root without following a symlink, so
 * that what runs is what the gateway looked up; and the user it runs as,
 * which the spawner becomes for good before it starts anything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"

static void fail(const char *what) {
  fprintf(stderr, "postern-spawner: %s: %s\n", what, strerror(errno));
  exit(1);
}

#ifndef RESOLVE_BENEATH
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
struct open_how {
  uint64_t flags, mode, resolve;
};
#endif

/* One component of a relative path: no "", "." or "..", which could climb. */
static int plain_name(const char *name, size_t len) {
  return len > 0 && !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

/*
 * Opens the directory `dir` (relative, "" for `root` itself) beneath `root`
 * without following a symlink in it; returns the descriptor or -errno.
 * openat2(2) (Linux 5.6) says it in one call; elsewhere, or where a seccomp
 * filter refuses it, each component is opened with O_NOFOLLOW in turn.
 */
int open_beneath(const char *root, const char *dir) {
  int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  if (dir[0] == '\0') return fd;
  if (dir[0] == '/') {
    close(fd);
    return -EINVAL;
  }
#ifdef SYS_openat2
  struct open_how how = {O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  int beneath = (int)syscall(SYS_openat2, fd, dir, &how, sizeof how);
  if (beneath >= 0 || (errno != ENOSYS && errno != EPERM)) {
    int error = errno;
    close(fd);
    return beneath >= 0 ? beneath : -error;
  }
#endif
  for (const char *p = dir; *p;) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    char name[256];
    if (!plain_name(p, len) || len >= sizeof name) {
      close(fd);
      return -EINVAL;
    }
    memcpy(name, p, len);
    name[len] = '\0';
    /* With O_NOFOLLOW a symlink is not a directory: ENOTDIR or ELOOP. */
    int next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int error = errno;
    close(fd);
    if (next < 0) return error == ENOTDIR ? -ELOOP : -error;
    fd = next;
    p = slash ? slash + 1 : p + len;
  }
  return fd;
}

/* The script `name` in the directory `dirfd` must be a regular file itself, not a symlink to one. */
int check_script(int dirfd, const char *name) {
  struct stat st;
  if (strchr(name, '/') || !plain_name(name, strlen(name))) return EINVAL;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  if (S_ISLNK(st.st_mode)) return ELOOP;
  return S_ISREG(st.st_mode) ? 0 : EACCES;
}

/* A decimal id as the gateway writes it; exits on anything else (a malformed id must never mean root). */
unsigned long parse_id(const char *text) {
  char *end;
  errno = 0;
  unsigned long id = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || id >= 0xfffffffful) {
    fprintf(stderr, "postern-spawner: bad user or group id %s\n", text);
    exit(2);
  }
  return id;
}

/* Becomes uid:gid with no supplementary group (as php-fpm's pools and fcgiwrap do), or exits. */
void become(unsigned long uid, unsigned long gid) {
  if (setgroups(0, NULL) != 0) fail("setgroups");
  if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) fail("setresgid");
  if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) fail("setresuid");
  /* The drop is for good: a process that could take root back has not dropped. */
  if (uid != 0 && setuid(0) == 0) {
    fprintf(stderr, "postern-spawner: could take root back after dropping to %lu\n", uid);
    exit(1);
  }
}

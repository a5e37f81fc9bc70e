/*
 * postern's CGI spawner: a small long-lived process that starts CGI scripts
 * for the gateway and relays their I/O over one connection.
 *
 * Why it exists: a runtime such as Node forks its whole (large) process to
 * start a child, on its event-loop thread, and pays for a connection or a set
 * of pipes per child. This process is small, starts scripts with posix_spawn
 * (vfork-like on Linux), and carries every script's stdin, stdout and stderr
 * as frames on a single unix-socket connection, so a request costs the
 * gateway no process, pipe or connection of its own.
 *
 * Usage: spawner SOCKET [UID GID]. It listens on SOCKET, prints "R\n" on
 * stdout when it does, and serves the first connection. The end of that
 * connection, or of stdin, means the gateway is gone: every script still
 * running is killed and the spawner exits. With UID and GID it drops to that
 * user once its socket listens (supplementary groups cleared), so every
 * script runs as that user. It is never dumpable: the scripts, which may run
 * as the same user, cannot read its memory or /proc/<pid>/environ, and it
 * holds the environment of every request in flight.
 *
 * Frames, both ways: type (1 byte), id (u32), n (u32), then n payload bytes
 * for the types that have a payload; integers little-endian.
 *   gateway -> spawner
 *     'S' start   payload: stderr limit u32, argc u32, envc u32, then
 *                 NUL-terminated root, dir, name, argv and "NAME=value"
 *                 strings. The script is the file `name` in the directory
 *                 `dir` (relative, "" for the root itself) beneath `root`;
 *                 argv[0] is an interpreter's absolute path (no PATH search
 *                 happens here) or "./name", the script itself
 *     'I' stdin   payload: bytes for the script's stdin; answered by 'A' once
 *                 written, and the gateway sends no more for that id before
 *     'C' close   end of stdin (after what was sent)
 *     'W' window  n more bytes of stdout may be sent (flow control)
 *     'K' kill    signal n to the script's process group
 *     'D' drop    stdout is no longer wanted: it is closed (the script gets
 *                 SIGPIPE if it writes on), and 'Z' answers
 *   spawner -> gateway
 *     'O' stdout  payload: bytes; never more than the window allows
 *     'Z' eof     stdout ended
 *     'E' stderr  payload: bytes, at most the stderr limit in all
 *     'A' ack     the last 'I' is written (or dropped: stdin was closed)
 *     'X' exit    n = exit status, or 128 + signal number
 *     'F' failed  n = errno: the script could not be started
 *   'X' or 'F' ends a script; 'Z' ends its stdout (a started script has
 *   both, in either order). An 'A' still due and stderr read before the
 *   exit may follow 'X'; then nothing more comes for the id.
 *
 * What runs is what the gateway looked up (a directory swapped for a symlink
 * between its lookup and the start must not lead out of the root): `dir` is
 * opened beneath `root` without following any symlink (openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or a walk of O_NOFOLLOW opens where
 * the kernel has no openat2), the script starts in that directory (fchdir)
 * and runs by its relative name, after a check that `name` there is a regular
 * file and no symlink. The gateway resolves symlinks before it asks, so a
 * symlink inside the root that stays inside still works; one swapped in
 * afterwards fails the start (ELOOP). Exec by descriptor (fexecve) is not
 * used: a #! script would then get /dev/fd/N, a descriptor open in it. What
 * stays open is the name itself, between the check and the exec: a writer of
 * that very directory could still swap the file for a symlink then.
 *
 * Every script runs in a process group of its own (so a signal reaches what
 * it started), with the default signal dispositions, an empty signal mask,
 * and descriptors 0, 1 and 2 only: every descriptor here is close-on-exec.
 * When a script exits, what it left running in its group is killed, so a
 * background child cannot hold the response open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FRAME (1u << 20)
#define MAX_STRINGS 65536
#define CHUNK 65536

struct buffer {
  unsigned char *data;
  size_t len, cap;
};

struct script {
  uint32_t id;
  pid_t pid;
  int in_fd, out_fd, err_fd; /* our ends of its pipes; -1 when closed */
  struct buffer in;          /* stdin bytes not yet written */
  size_t in_off;
  int in_close;              /* close stdin once `in` is written */
  int in_acked;              /* the pending 'I' was answered */
  uint32_t window;           /* stdout bytes the gateway can take */
  uint32_t err_left;         /* stderr bytes still forwarded */
  int exited;
};

static struct script **scripts;
static size_t script_count, script_cap;
static struct buffer out;  /* frames to the gateway */
static struct buffer in;   /* bytes from the gateway, not yet parsed */
static int conn = -1;
static int sigchld_pipe[2];

static void die(const char *what) {
  fprintf(stderr, "postern-spawner: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void reserve(struct buffer *b, size_t more) {
  if (b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap *= 2;
  b->data = realloc(b->data, cap);
  if (!b->data) die("realloc");
  b->cap = cap;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Queues a frame for the gateway; `payload` may be NULL when n is not a length. */
static void frame(char type, uint32_t id, uint32_t n, const void *payload) {
  size_t size = 9 + (payload ? n : 0);
  reserve(&out, size);
  unsigned char *p = out.data + out.len;
  p[0] = (unsigned char)type;
  put32(p + 1, id);
  put32(p + 5, n);
  if (payload) memcpy(p + 9, payload, n);
  out.len += size;
}

static void set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static struct script *find(uint32_t id) {
  for (size_t i = 0; i < script_count; i++) {
    if (scripts[i]->id == id) return scripts[i];
  }
  return NULL;
}

/* Splits `count` NUL-terminated strings from *p..end; NULL when malformed. */
static char **strings(char **p, const char *end, uint32_t count) {
  char **list = calloc((size_t)count + 1, sizeof *list);
  if (!list) die("calloc");
  for (uint32_t i = 0; i < count; i++) {
    const char *nul = memchr(*p, 0, (size_t)(end - *p));
    if (!nul) {
      free(list);
      return NULL;
    }
    list[i] = *p;
    *p = (char *)nul + 1;
  }
  return list;
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
static int open_beneath(const char *root, const char *dir) {
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
static int check_script(int dirfd, const char *name) {
  struct stat st;
  if (strchr(name, '/') || !plain_name(name, strlen(name))) return EINVAL;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  if (S_ISLNK(st.st_mode)) return ELOOP;
  return S_ISREG(st.st_mode) ? 0 : EACCES;
}

static void start(uint32_t id, unsigned char *payload, uint32_t n) {
  if (n < 12 || find(id)) {
    frame('F', id, EINVAL, NULL);
    return;
  }
  uint32_t err_limit = get32(payload), argc = get32(payload + 4), envc = get32(payload + 8);
  char *p = (char *)payload + 12;
  const char *end = (char *)payload + n;
  if (argc == 0 || argc > MAX_STRINGS || envc > MAX_STRINGS) {
    frame('F', id, EINVAL, NULL);
    return;
  }
  char **where = strings(&p, end, 3); /* root, dir, name */
  char **argv = where ? strings(&p, end, argc) : NULL;
  char **envp = argv ? strings(&p, end, envc) : NULL;
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  int dirfd = -1;
  int error = 0;
  pid_t pid = -1;
  if (!envp) {
    error = EINVAL;
  } else if ((dirfd = open_beneath(where[0], where[1])) < 0) {
    error = -dirfd;
  } else if ((error = check_script(dirfd, where[2])) != 0) {
    /* error says why */
  } else if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0 || pipe2(perr, O_CLOEXEC) != 0) {
    error = errno;
  } else {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    /* Ignored signals stay ignored across exec (handlers do not): those are
       the ones to reset, and naming only them spares the child a sigaction
       call for every signal there is. */
    sigset_t none, ignored;
    sigemptyset(&none);
    sigemptyset(&ignored);
    sigaddset(&ignored, SIGPIPE);
    sigaddset(&ignored, SIGINT);
    posix_spawn_file_actions_init(&actions);
    /* dup2 clears close-on-exec on 0, 1 and 2 only. */
    posix_spawn_file_actions_adddup2(&actions, pin[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pout[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, perr[1], STDERR_FILENO);
    /* RFC 3875 §7.2: the script's own directory, the one checked above. */
    posix_spawn_file_actions_addfchdir_np(&actions, dirfd);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &ignored);
    error = posix_spawn(&pid, argv[0], &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  close_fd(&dirfd);
  free(where);
  free(argv);
  free(envp);
  /* The script's ends are its own now. */
  close_fd(&pin[0]);
  close_fd(&pout[1]);
  close_fd(&perr[1]);
  if (error != 0) {
    close_fd(&pin[1]);
    close_fd(&pout[0]);
    close_fd(&perr[0]);
    frame('F', id, (uint32_t)error, NULL);
    return;
  }
  struct script *s = calloc(1, sizeof *s);
  if (!s) die("calloc");
  s->id = id;
  s->pid = pid;
  s->in_fd = pin[1];
  s->out_fd = pout[0];
  s->err_fd = perr[0];
  s->in_acked = 1;
  s->err_left = err_limit;
  set_nonblocking(s->in_fd);
  set_nonblocking(s->out_fd);
  set_nonblocking(s->err_fd);
  if (script_count == script_cap) {
    script_cap = script_cap ? script_cap * 2 : 64;
    scripts = realloc(scripts, script_cap * sizeof *scripts);
    if (!scripts) die("realloc");
  }
  scripts[script_count++] = s;
}

/* Writes what stdin holds; acks the frame once it is all written (or cannot be). */
static void pump_stdin(struct script *s) {
  while (s->in_fd >= 0 && s->in_off < s->in.len) {
    ssize_t n = write(s->in_fd, s->in.data + s->in_off, s->in.len - s->in_off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) {
      /* EPIPE: the script closed its input. It need not read it (RFC 3875 §4.2). */
      close_fd(&s->in_fd);
      break;
    }
    s->in_off += (size_t)n;
  }
  s->in.len = s->in_off = 0;
  if (!s->in_acked) {
    s->in_acked = 1;
    frame('A', s->id, 0, NULL);
  }
  if (s->in_close) close_fd(&s->in_fd);
}

static void command(char type, uint32_t id, uint32_t n, unsigned char *payload) {
  if (type == 'S') {
    start(id, payload, n);
    return;
  }
  struct script *s = find(id);
  if (!s) {
    /* Already gone: answer what the gateway may wait for. */
    if (type == 'I') frame('A', id, 0, NULL);
    return;
  }
  switch (type) {
    case 'I':
      if (s->in_fd < 0) {
        frame('A', id, 0, NULL);
        return;
      }
      if (n > 0) {
        reserve(&s->in, n);
        memcpy(s->in.data + s->in.len, payload, n);
        s->in.len += n;
      }
      s->in_acked = 0;
      pump_stdin(s);
      break;
    case 'C':
      s->in_close = 1;
      if (s->in.len == 0) close_fd(&s->in_fd);
      break;
    case 'W':
      s->window += n;
      break;
    case 'K':
      if (!s->exited) kill(-s->pid, (int)n);
      break;
    case 'D':
      if (s->out_fd >= 0) {
        close_fd(&s->out_fd);
        frame('Z', id, 0, NULL);
      }
      break;
  }
}

/* Parses and runs the complete frames received. */
static void run_commands(void) {
  size_t off = 0;
  while (in.len - off >= 9) {
    unsigned char *p = in.data + off;
    uint32_t n = get32(p + 5);
    int has_payload = p[0] == 'S' || p[0] == 'I';
    if (has_payload && n > MAX_FRAME) {
      fprintf(stderr, "postern-spawner: frame too large\n");
      exit(1);
    }
    size_t size = 9 + (has_payload ? n : 0);
    if (in.len - off < size) break;
    command((char)p[0], get32(p + 1), n, p + 9);
    off += size;
  }
  memmove(in.data, in.data + off, in.len - off);
  in.len -= off;
}

/* Reads stdout within the window; returns at its end or when it would block. */
static void relay_stdout(struct script *s) {
  while (s->out_fd >= 0 && s->window > 0) {
    size_t want = s->window < CHUNK ? s->window : CHUNK;
    reserve(&out, 9 + want);
    ssize_t n = read(s->out_fd, out.data + out.len + 9, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close_fd(&s->out_fd);
      frame('Z', s->id, 0, NULL);
      return;
    }
    /* The payload is already in place: write the frame head before it. */
    unsigned char *p = out.data + out.len;
    p[0] = 'O';
    put32(p + 1, s->id);
    put32(p + 5, (uint32_t)n);
    out.len += 9 + (size_t)n;
    s->window -= (uint32_t)n;
  }
}

static void relay_stderr(struct script *s) {
  char chunk[8192];
  while (s->err_fd >= 0) {
    ssize_t n = read(s->err_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close_fd(&s->err_fd);
      return;
    }
    uint32_t keep = (uint32_t)n < s->err_left ? (uint32_t)n : s->err_left;
    if (keep > 0) frame('E', s->id, keep, chunk);
    s->err_left -= keep;
  }
}

static void on_sigchld(int sig) {
  (void)sig;
  int saved = errno;
  char byte = 0;
  ssize_t ignored = write(sigchld_pipe[1], &byte, 1);
  (void)ignored;
  errno = saved;
}

static void reap(void) {
  char drain[64];
  while (read(sigchld_pipe[0], drain, sizeof drain) > 0) {
  }
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (size_t i = 0; i < script_count; i++) {
      struct script *s = scripts[i];
      if (s->pid != pid || s->exited) continue;
      s->exited = 1;
      /* What the script left behind in its group must not outlive it. */
      kill(-pid, SIGKILL);
      /* Its stderr first: the exit status is the last word about a script. */
      relay_stderr(s);
      frame('X', s->id, WIFEXITED(status) ? (uint32_t)WEXITSTATUS(status) : 128u + (uint32_t)WTERMSIG(status), NULL);
      break;
    }
  }
}

/* Forgets scripts that have exited and whose output has ended. */
static void sweep(void) {
  for (size_t i = script_count; i-- > 0;) {
    struct script *s = scripts[i];
    if (!s->exited || s->out_fd >= 0) continue;
    close_fd(&s->err_fd);
    close_fd(&s->in_fd);
    if (!s->in_acked) frame('A', s->id, 0, NULL);
    free(s->in.data);
    free(s);
    scripts[i] = scripts[--script_count];
  }
}

static void shutdown_all(void) {
  for (size_t i = 0; i < script_count; i++) {
    if (!scripts[i]->exited) kill(-scripts[i]->pid, SIGKILL);
  }
  exit(0);
}

static void flush_out(void) {
  size_t off = 0;
  while (off < out.len) {
    ssize_t n = write(conn, out.data + off, out.len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) shutdown_all(); /* the gateway is gone */
    off += (size_t)n;
  }
  memmove(out.data, out.data + off, out.len - off);
  out.len -= off;
}

static void close_inherited(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = 3; fd < max; fd++) close(fd);
}

static int listen_on(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path) {
    fprintf(stderr, "postern-spawner: socket path too long\n");
    exit(2);
  }
  strcpy(addr.sun_path, path);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind");
  if (listen(fd, 1) != 0) die("listen");
  return fd;
}

/* A decimal id as the gateway writes it; exits on anything else (a malformed id must never mean root). */
static unsigned long parse_id(const char *text) {
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
static void become(unsigned long uid, unsigned long gid) {
  if (setgroups(0, NULL) != 0) die("setgroups");
  if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) die("setresgid");
  if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) die("setresuid");
  /* The drop is for good: a process that could take root back has not dropped. */
  if (uid != 0 && setuid(0) == 0) {
    fprintf(stderr, "postern-spawner: could take root back after dropping to %lu\n", uid);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: spawner SOCKET [UID GID]\n");
    return 2;
  }
  /* Descriptors inherited from the gateway beyond stdio would reach every script. */
  close_inherited();
  if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) != 0) die("pipe2");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* A terminal's Ctrl-C is for the gateway, which stops us by going away. */
  signal(SIGINT, SIG_IGN);
  fcntl(STDIN_FILENO, F_SETFD, FD_CLOEXEC);
  fcntl(STDOUT_FILENO, F_SETFD, FD_CLOEXEC);

  int listener = listen_on(argv[1]);
  if (argc == 4) become(parse_id(argv[2]), parse_id(argv[3]));
  /* Not dumpable (after the drop, which resets the flag): the scripts, which
     may run as the same user, can neither ptrace this process nor read its
     /proc/<pid>/environ or mem, and it holds every request's environment. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) die("prctl");
  if (write(STDOUT_FILENO, "R\n", 2) != 2) return 0;
  /* The gateway connects next; if it goes away instead, stdin ends. */
  for (;;) {
    struct pollfd wait[2] = {{listener, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (poll(wait, 2, -1) < 0 && errno != EINTR) die("poll");
    if (wait[1].revents) return 0;
    if (!wait[0].revents) continue;
    conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn >= 0) break;
    if (errno != EINTR && errno != ECONNABORTED) die("accept");
  }
  close(listener);
  set_nonblocking(conn);

  struct pollfd *fds = NULL;
  size_t fds_cap = 0;
  for (;;) {
    size_t want = 3 + 3 * script_count;
    if (want > fds_cap) {
      fds_cap = want * 2;
      fds = realloc(fds, fds_cap * sizeof *fds);
      if (!fds) die("realloc");
    }
    fds[0] = (struct pollfd){conn, (short)(POLLIN | (out.len ? POLLOUT : 0)), 0};
    fds[1] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
    fds[2] = (struct pollfd){sigchld_pipe[0], POLLIN, 0};
    for (size_t i = 0; i < script_count; i++) {
      struct script *s = scripts[i];
      /* -1 makes poll skip an entry: stdout is read only within the window. */
      fds[3 + 3 * i] = (struct pollfd){s->window > 0 ? s->out_fd : -1, POLLIN, 0};
      fds[4 + 3 * i] = (struct pollfd){s->err_fd, POLLIN, 0};
      fds[5 + 3 * i] = (struct pollfd){s->in.len > s->in_off ? s->in_fd : -1, POLLOUT, 0};
    }
    size_t polled = script_count;
    if (poll(fds, (nfds_t)(3 + 3 * polled), -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (fds[1].revents) shutdown_all();
    for (size_t i = 0; i < polled; i++) {
      struct script *s = scripts[i];
      if (fds[3 + 3 * i].revents) relay_stdout(s);
      if (fds[4 + 3 * i].revents) relay_stderr(s);
      if (fds[5 + 3 * i].revents) pump_stdin(s);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      for (;;) {
        reserve(&in, CHUNK);
        ssize_t n = read(conn, in.data + in.len, in.cap - in.len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) shutdown_all();
        in.len += (size_t)n;
        run_commands();
      }
    }
    if (fds[2].revents) reap();
    sweep();
    flush_out();
  }
}

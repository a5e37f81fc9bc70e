/*
 * postern's CGI spawner: a small long-lived process that starts CGI scripts
 * for the gateway.
 *
 * Why it exists: a runtime such as Node forks its whole (large) process to
 * start a child, on its event-loop thread; this process is small and starts
 * scripts with posix_spawn (vfork-like on Linux), so starting a script costs
 * what it costs lighttpd or fcgiwrap.
 *
 * How: the gateway connects to the unix socket given as argv[1] once per
 * script and writes a request header (below); the rest of that connection is
 * the script's stdin and stdout, so the request body and the response never
 * pass through this process. The script's stderr comes here through a pipe
 * and is forwarded, bounded, on stdout together with exit statuses. Commands
 * (signals for a script's process group) arrive on stdin; end of stdin means
 * the gateway is gone: every script still running is killed and we exit.
 *
 * Request header (integers are 32-bit little-endian):
 *   length of the rest | id | stderr limit | argc | envc |
 *   cwd NUL | argv[0] NUL ... | "NAME=value" NUL ...
 *   argv[0] is an absolute path: no PATH search happens here.
 * Events on stdout, one line each, ids and numbers in decimal:
 *   "X id status\n"   the script exited: its code, or 128 + signal number
 *   "F id errno\n"    the script could not be started
 *   "E id n\n" + n bytes   a piece of the script's stderr
 * Commands on stdin: "K id signal\n" signals the script's process group.
 *
 * Every script runs in a process group of its own (so a signal reaches what
 * it started), with the default signal dispositions and an empty signal mask,
 * and with descriptors 0, 1 and 2 only: every descriptor here is close-on-exec.
 * When a script exits, what it left running in its group is killed, so a
 * background child cannot hold the response open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_HEADER (1u << 20)
#define MAX_STRINGS 65536

/* A connection whose request header is still being read. */
struct pending {
  int fd;
  uint32_t need; /* bytes of the current part still to read */
  uint32_t got;
  int have_length;
  unsigned char length_bytes[4];
  unsigned char *header;
  uint32_t header_length;
};

/* A running script. */
struct script {
  pid_t pid;
  uint32_t id;
  int err_fd;          /* read end of its stderr pipe, -1 once at end */
  uint32_t err_left;   /* stderr bytes still forwarded; the rest is dropped */
  int exited;
};

static struct pending *pendings;
static size_t pending_count, pending_cap;
static struct script *scripts;
static size_t script_count, script_cap;
static int sigchld_pipe[2];
static char out_buf[65536];
static size_t out_len;

static void die(const char *what) {
  fprintf(stderr, "postern-spawner: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void *grow(void *array, size_t *cap, size_t size) {
  size_t next = *cap ? *cap * 2 : 16;
  void *p = realloc(array, next * size);
  if (!p) die("realloc");
  *cap = next;
  return p;
}

/* Events are buffered and written once per loop turn: one write for many. */
static void flush_events(void) {
  size_t off = 0;
  while (off < out_len) {
    ssize_t n = write(STDOUT_FILENO, out_buf + off, out_len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      exit(0); /* the gateway is gone */
    }
    off += (size_t)n;
  }
  out_len = 0;
}

static void emit(const char *bytes, size_t n) {
  if (out_len + n > sizeof out_buf) flush_events();
  if (n > sizeof out_buf) {
    /* Larger than the buffer: write it through. */
    size_t off = 0;
    while (off < n) {
      ssize_t w = write(STDOUT_FILENO, bytes + off, n - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        exit(0);
      }
      off += (size_t)w;
    }
    return;
  }
  memcpy(out_buf + out_len, bytes, n);
  out_len += n;
}

static void emit_line(char kind, uint32_t id, long value) {
  char line[64];
  int n = snprintf(line, sizeof line, "%c %u %ld\n", kind, id, value);
  emit(line, (size_t)n);
}

static void on_sigchld(int sig) {
  (void)sig;
  int saved = errno;
  char byte = 0;
  ssize_t ignored = write(sigchld_pipe[1], &byte, 1);
  (void)ignored;
  errno = saved;
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_blocking(int fd, int blocking) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return;
  fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK);
}

/* Splits `count` NUL-terminated strings from p..end; NULL when malformed. */
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

static void start_script(int fd, unsigned char *h, uint32_t length) {
  if (length < 16) return;
  uint32_t id = le32(h), err_limit = le32(h + 4), argc = le32(h + 8), envc = le32(h + 12);
  char *p = (char *)h + 16;
  const char *end = (char *)h + length;
  if (argc == 0 || argc > MAX_STRINGS || envc > MAX_STRINGS) {
    emit_line('F', id, EINVAL);
    return;
  }
  char **cwd = strings(&p, end, 1);
  char **argv = cwd ? strings(&p, end, argc) : NULL;
  char **envp = argv ? strings(&p, end, envc) : NULL;
  int err_pipe[2] = {-1, -1};
  int error = 0;
  pid_t pid = -1;
  if (!envp) {
    error = EINVAL;
  } else if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    error = errno;
  } else {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&actions);
    /* The connection becomes stdin and stdout; dup2 clears close-on-exec. */
    posix_spawn_file_actions_adddup2(&actions, fd, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    posix_spawn_file_actions_addchdir_np(&actions, cwd[0]);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    /* The script reads and writes the connection in blocking mode. */
    set_blocking(fd, 1);
    error = posix_spawn(&pid, argv[0], &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(err_pipe[1]);
  }
  free(cwd);
  free(argv);
  free(envp);
  if (error != 0) {
    if (err_pipe[0] >= 0) close(err_pipe[0]);
    emit_line('F', id, error);
    return;
  }
  set_blocking(err_pipe[0], 0);
  if (script_count == script_cap) scripts = grow(scripts, &script_cap, sizeof *scripts);
  scripts[script_count++] = (struct script){pid, id, err_pipe[0], err_limit, 0};
}

/* Reads what is due of a pending header; returns 1 when the entry is done. */
static int read_pending(struct pending *pd) {
  for (;;) {
    unsigned char *into = pd->have_length ? pd->header + pd->got : pd->length_bytes + pd->got;
    ssize_t n = recv(pd->fd, into, pd->need - pd->got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n <= 0) return 1; /* the gateway gave up on it */
    pd->got += (uint32_t)n;
    if (pd->got < pd->need) continue;
    if (!pd->have_length) {
      uint32_t length = le32(pd->length_bytes);
      if (length == 0 || length > MAX_HEADER) return 1;
      pd->header = malloc(length);
      if (!pd->header) die("malloc");
      pd->header_length = length;
      pd->have_length = 1;
      pd->need = length;
      pd->got = 0;
      continue;
    }
    start_script(pd->fd, pd->header, pd->header_length);
    return 1;
  }
}

static void add_pending(int fd) {
  if (pending_count == pending_cap) pendings = grow(pendings, &pending_cap, sizeof *pendings);
  pendings[pending_count++] = (struct pending){fd, 4, 0, 0, {0}, NULL, 0};
}

static void drop_pending(size_t i) {
  close(pendings[i].fd);
  free(pendings[i].header);
  pendings[i] = pendings[--pending_count];
}

static void accept_all(int listener) {
  for (;;) {
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return; /* EAGAIN, or out of descriptors: try again next turn */
    }
    add_pending(fd);
    /* The header usually arrives with the connection: read it now. */
    if (read_pending(&pendings[pending_count - 1])) drop_pending(pending_count - 1);
  }
}

/* Forwards what the script wrote to stderr; returns 0 at its end. */
static int forward_stderr(struct script *s) {
  char chunk[8192];
  for (;;) {
    ssize_t n = read(s->err_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1; /* EAGAIN */
    if (n == 0) return 0;
    uint32_t keep = (uint32_t)n < s->err_left ? (uint32_t)n : s->err_left;
    if (keep > 0) {
      char line[48];
      int len = snprintf(line, sizeof line, "E %u %u\n", s->id, keep);
      emit(line, (size_t)len);
      emit(chunk, keep);
      s->err_left -= keep;
    }
  }
}

static struct script *script_by_id(uint32_t id) {
  for (size_t i = 0; i < script_count; i++) {
    if (scripts[i].id == id) return &scripts[i];
  }
  return NULL;
}

static void remove_if_done(size_t i) {
  if (!scripts[i].exited || scripts[i].err_fd >= 0) return;
  scripts[i] = scripts[--script_count];
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
      struct script *s = &scripts[i];
      if (s->pid != pid || s->exited) continue;
      s->exited = 1;
      /* What the script left behind in its group must not outlive it. */
      kill(-pid, SIGKILL);
      /* Its stderr first: the exit status is the last word about a script. */
      if (s->err_fd >= 0 && forward_stderr(s) == 0) {
        close(s->err_fd);
        s->err_fd = -1;
      }
      emit_line('X', s->id, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      remove_if_done(i);
      break;
    }
  }
}

/* Runs the commands in `buf`; returns how many bytes were consumed. */
static size_t run_commands(char *buf, size_t len) {
  size_t used = 0;
  for (;;) {
    char *nl = memchr(buf + used, '\n', len - used);
    if (!nl) return used;
    *nl = 0;
    unsigned id;
    int sig;
    if (sscanf(buf + used, "K %u %d", &id, &sig) == 2) {
      struct script *s = script_by_id(id);
      if (s && !s->exited) kill(-s->pid, sig);
    }
    used = (size_t)(nl - buf) + 1;
  }
}

static void kill_all(void) {
  for (size_t i = 0; i < script_count; i++) {
    if (!scripts[i].exited) kill(-scripts[i].pid, SIGKILL);
  }
}

static void close_inherited(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = 3; fd < max; fd++) close(fd);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: postern-spawner SOCKET\n");
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
  /* A terminal's Ctrl-C is for the gateway, which stops us through stdin. */
  signal(SIGINT, SIG_IGN);

  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listener < 0) die("socket");
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(argv[1]) >= sizeof addr.sun_path) {
    fprintf(stderr, "postern-spawner: socket path too long\n");
    return 2;
  }
  strcpy(addr.sun_path, argv[1]);
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind");
  if (listen(listener, 4096) != 0) die("listen");
  fcntl(STDIN_FILENO, F_SETFD, FD_CLOEXEC);
  fcntl(STDOUT_FILENO, F_SETFD, FD_CLOEXEC);
  /* Ready: the gateway may connect from now on. */
  emit("R 0 0\n", 6);
  flush_events();

  char commands[4096];
  size_t command_len = 0;
  struct pollfd *fds = NULL;
  size_t fds_cap = 0;
  for (;;) {
    size_t want = 3 + pending_count + script_count;
    if (want > fds_cap) {
      fds_cap = want * 2;
      fds = realloc(fds, fds_cap * sizeof *fds);
      if (!fds) die("realloc");
    }
    size_t n = 0;
    fds[n++] = (struct pollfd){listener, POLLIN, 0};
    fds[n++] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
    fds[n++] = (struct pollfd){sigchld_pipe[0], POLLIN, 0};
    for (size_t i = 0; i < pending_count; i++) fds[n++] = (struct pollfd){pendings[i].fd, POLLIN, 0};
    size_t first_script = n;
    for (size_t i = 0; i < script_count; i++) fds[n++] = (struct pollfd){scripts[i].err_fd, POLLIN, 0};
    if (poll(fds, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    /* Scripts first, from the last: their slots in fds stay valid while entries after them are removed. */
    for (size_t i = script_count; i-- > 0;) {
      if (first_script + i >= n || scripts[i].err_fd < 0 || !fds[first_script + i].revents) continue;
      if (forward_stderr(&scripts[i]) == 0) {
        close(scripts[i].err_fd);
        scripts[i].err_fd = -1;
        remove_if_done(i);
      }
    }
    for (size_t i = pending_count; i-- > 0;) {
      if (!fds[3 + i].revents) continue;
      if (read_pending(&pendings[i])) drop_pending(i);
    }
    if (fds[0].revents) accept_all(listener);
    if (fds[1].revents) {
      ssize_t got = read(STDIN_FILENO, commands + command_len, sizeof commands - command_len);
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
        kill_all();
        return 0;
      }
      if (got > 0) {
        command_len += (size_t)got;
        size_t used = run_commands(commands, command_len);
        memmove(commands, commands + used, command_len - used);
        command_len -= used;
        if (command_len == sizeof commands) command_len = 0; /* a line longer than any command */
      }
    }
    /* Last: reaping removes scripts, which would shift the slots used above. */
    if (fds[2].revents) reap();
    flush_events();
  }
}

"""The worker process's life around the server: signals, the parent watch and
the drain (the contract with postern's supervisor, docs/gateways/wsgi.md "The WSGI adapter").

- SIGUSR1: faulthandler writes every thread's stack to stderr, at once, even
  while the application holds the interpreter in C code; postern sends it
  to a worker past its timeout, before SIGKILL.
- SIGTERM: stop accepting, finish the requests in flight, exit 0.
- SIGINT, SIGQUIT: exit at once.
- postern's death, even by SIGKILL: Linux's prctl(PR_SET_PDEATHSIG) sends a
  signal the moment it happens (prctl(2)); it is a hint only, checked
  against getppid(), since the kernel sends it when the *thread* that
  forked exits. Polling getppid() covers systems without prctl.
"""

import ctypes
import ctypes.util
import faulthandler
import os
import select
import signal
import sys
import time

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL_S = 1.0
# Requests in flight when postern died can no longer be answered; an
# application stuck in one still must not outlive postern for long.
ORPHAN_DRAIN_S = 10.0
DRAIN_POLL_S = 0.02


class Lifecycle:
    def __init__(self):
        self.parent = os.getppid()
        self.terminate = False
        self._wake_r, wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(wake_w, False)
        # A signal writes a byte here, so the wait in run() ends at once; the
        # Python handlers below only set flags (they may run inside any lock).
        signal.set_wakeup_fd(wake_w)
        faulthandler.register(signal.SIGUSR1, all_threads=True)
        faulthandler.enable()
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, _exit_now)
        signal.signal(signal.SIGQUIT, _exit_now)
        signal.signal(signal.SIGUSR2, _parent_hint)
        _set_parent_death_signal(signal.SIGUSR2)
        if os.getppid() != self.parent:
            self.terminate = True  # postern died before the signal was asked for

    def _on_term(self, signum, frame):
        self.terminate = True

    def parent_gone(self):
        return os.getppid() != self.parent

    def wait(self):
        """Blocks until SIGTERM or postern's death; returns how long the drain may take (None: no limit)."""
        while not self.terminate and not self.parent_gone():
            try:
                select.select([self._wake_r], [], [], PARENT_POLL_S)
            except InterruptedError:
                pass
            try:
                while os.read(self._wake_r, 64):
                    pass
            except BlockingIOError:
                pass
        return ORPHAN_DRAIN_S if self.parent_gone() else None


def drain(server, timeout):
    """Waits until no request is in flight (at most `timeout` seconds when given)."""
    server.stopping = True
    deadline = None if timeout is None else time.monotonic() + timeout
    # Polled: requests count themselves with a plain lock, the cheapest there is per request.
    while server.busy and (deadline is None or time.monotonic() < deadline):
        time.sleep(DRAIN_POLL_S)


def _exit_now(signum, frame):
    sys.stderr.flush()
    os._exit(0)


def _parent_hint(signum, frame):
    # The wakeup fd has already ended the wait; Lifecycle.wait checks getppid().
    pass


def _set_parent_death_signal(signum):
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the getppid() poll still notices

"""A time limit for the learner's code that works in Jupyter on Linux, macOS and Windows.

A watchdog thread interrupts the main thread when time is up (``_thread.interrupt_main``, which
exists on every platform, unlike SIGALRM). While the limit is active our own SIGINT handler tells
that interrupt (``TimeUp``) from the learner pressing the kernel's stop button (``KeyboardInterrupt``).
Outside the main thread no signal handler can be installed: the code then runs without a limit.
Time the learner's code spends importing modules (a first ``torch.optim`` step imports for seconds)
does not count.
"""
from __future__ import annotations

import _thread
import signal
import sys
import threading
import time


def _importing() -> bool:
    """Whether the main thread is importing a module right now."""
    frame = sys._current_frames().get(threading.main_thread().ident)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


class TimeUp(BaseException):
    """The learner's code ran past its time limit (a BaseException, so that a learner's
    ``except Exception`` does not swallow it)."""


class TimeLimit:
    """``with TimeLimit(5):`` raises TimeUp in the block after 5 s; ``elapsed`` says how long it ran."""

    POLL_S = 0.1
    REPEAT_S = 0.5  # interrupt again this often, in case the learner's code swallowed one
    REPEATS = 10
    IMPORT_GRACE_S = 120.0  # time spent importing modules does not count, up to this much

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = time.monotonic()
        self.fired = self.done = self.active = False
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.previous = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __enter__(self):
        self.started = time.monotonic()
        if threading.current_thread() is not threading.main_thread():
            return self  # no limit: only the main thread can receive the interrupt
        try:
            self.previous = signal.signal(signal.SIGINT, self._on_interrupt)
        except (ValueError, OSError):
            return self
        self.active = True
        threading.Thread(target=self._watch, name="course-time-limit", daemon=True).start()
        return self

    def _watch(self):
        ran, fired, last = 0.0, 0, time.monotonic()  # ran: seconds of the learner's code, imports left out
        while fired < self.REPEATS and not self.stop.wait(self.POLL_S):
            now = time.monotonic()
            if not (_importing() and self.elapsed < self.IMPORT_GRACE_S):
                ran += now - last
            last = now
            if ran < self.seconds + fired * self.REPEAT_S:
                continue
            with self.lock:
                if self.done:
                    return
                self.fired = True
                _thread.interrupt_main()  # runs _on_interrupt in the main thread
            fired += 1

    def _on_interrupt(self, signum, frame):
        if self.done:
            return  # the learner's code finished just as time ran out: ignore the late interrupt
        if self.fired:
            raise TimeUp
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if not self.active:
            return False
        try:
            with self.lock:  # from here on the watchdog never interrupts
                self.done = True
            self.stop.set()
        finally:
            # signal.signal runs any pending handler first (ours, which now ignores it)
            signal.signal(signal.SIGINT, self.previous if self.previous is not None
                          else signal.default_int_handler)
        return False

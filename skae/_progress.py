"""The progress line of ``verbose=1``.

One line for the whole fit: steps done out of ``max_steps``, the latest
training (and validation) loss, the time spent and an estimate of the time
left. On a terminal the line is rewritten in place; elsewhere (a log file, a
notebook cell captured to a file, CI) a line is printed at every tenth of the
budget, so a log holds at most a dozen lines and no control characters.
"""

import sys
import time

from skorch.callbacks import Callback

# Seconds between two rewrites of the line on a terminal.
_REFRESH_SECONDS = 0.2


def _duration(seconds):
    """``seconds`` as ``'42s'``, ``'3m05s'`` or ``'1h02m'``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class ProgressLine(Callback):
    """Report training progress towards ``max_steps`` on one line.

    Parameters
    ----------
    name : str
        Who trains (the estimator's class name), at the start of the line.
    max_steps : int
        The step budget of the fit.
    stream : file-like, default=None
        Where to write; ``None`` is ``sys.stdout`` at the time of writing.
    """

    def __init__(self, name, max_steps, stream=None):
        self.name = name
        self.max_steps = max_steps
        self.stream = stream

    def _out(self):
        return sys.stdout if self.stream is None else self.stream

    def on_train_begin(self, net, **kwargs):
        self.start_ = time.perf_counter()
        self.steps_ = 0
        self.shown_at_ = -1.0
        self.next_tenth_ = 1
        self.terminal_ = bool(getattr(self._out(), "isatty", lambda: False)())

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        self.steps_ += 1
        now = time.perf_counter()
        if self.terminal_:
            if now - self.shown_at_ >= _REFRESH_SECONDS:
                self.shown_at_ = now
                self._write(net, "\r", end="")
        elif self.next_tenth_ * self.max_steps <= self.steps_ * 10 < 10 * self.max_steps:
            self.next_tenth_ = self.steps_ * 10 // self.max_steps + 1
            self._write(net, "", end="\n")

    def on_train_end(self, net, **kwargs):
        elapsed = time.perf_counter() - self.start_
        reason = ("budget used" if self.steps_ >= self.max_steps
                  else "stopped early: the loss stopped improving")
        start = "\r" if self.terminal_ else ""
        self._out().write(f"{start}{self.name}: {self.steps_} steps "
                          f"in {_duration(elapsed)} ({reason}){self._losses(net)}\n")
        self._out().flush()

    def _losses(self, net):
        last = net.history[-1] if len(net.history) else {}
        batches = last.get("batches") or [{}]
        loss = batches[-1].get("train_loss", last.get("train_loss"))
        text = "" if loss is None else f", loss {loss:.4g}"
        valid = next((epoch["valid_loss"] for epoch in reversed(net.history)
                      if "valid_loss" in epoch), None)
        return text + ("" if valid is None else f", validation loss {valid:.4g}")

    def _write(self, net, start, end):
        elapsed = time.perf_counter() - self.start_
        left = elapsed / self.steps_ * (self.max_steps - self.steps_)
        self._out().write(f"{start}{self.name}: step {self.steps_}/{self.max_steps} "
                          f"({self.steps_ / self.max_steps:.0%}){self._losses(net)}, "
                          f"{_duration(elapsed)} elapsed, at most {_duration(left)} left"
                          f"{end}")
        self._out().flush()

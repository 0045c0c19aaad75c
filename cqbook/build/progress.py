"""Progress of builds and sweeps: a bar on a terminal, plain lines in CI logs.

On a terminal: runs done / total, elapsed and ETA in one tqdm bar on stderr. Elsewhere
(CI logs, tests): one plain line per run, with the same numbers.
"""

from __future__ import annotations

import contextlib
import sys
import time


class Progress:
    def __init__(self, total: int, label: str, stream=None):
        self.total, self.label, self.done = total, label, 0
        self.started = time.perf_counter()
        self.stream = stream or sys.stderr
        self.bar = None
        if _is_terminal(self.stream) and total > 1:
            from tqdm import tqdm

            # No monitor thread: a process with a second thread does not fork kernels.
            tqdm.monitor_interval = 0
            self.bar = tqdm(total=total, desc=label, unit="run", file=self.stream,
                            bar_format="{desc}: {bar} {n_fmt}/{total_fmt} runs "
                                       "[{elapsed} elapsed, ETA {remaining}]")

    def printing(self):
        """A context in which lines may be printed without breaking the bar."""
        if self.bar is None:
            return contextlib.nullcontext()
        from tqdm import tqdm

        return tqdm.external_write_mode(file=self.stream)

    def line(self) -> str:
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        return (f"{self.label}: {self.done}/{self.total} done, {elapsed:.1f} s elapsed, "
                f"ETA {eta:.1f} s")

    def advance(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.done == self.total:
                self.bar.close()
            return
        print(self.line(), flush=True)


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

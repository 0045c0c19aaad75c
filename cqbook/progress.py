"""Progress of builds and sweeps: a bar on a terminal, plain lines in CI logs."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str):
        self.total, self.label, self.done = total, label, 0
        self.started = time.perf_counter()
        self.bar = None
        if sys.stderr.isatty() and total > 1:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit="run")

    def advance(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.done == self.total:
                self.bar.close()
            return
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        print(f"{self.label}: {self.done}/{self.total} done, {elapsed:.1f} s elapsed, "
              f"ETA {eta:.1f} s", flush=True)

"""What the processes under test cost, read from ``/proc``: CPU seconds, peak RSS, and the summed PSS sampled while
they run.

CPU time hardly moves when something else runs on the machine, so it is the figure to compare in a noisy run;
``VmHWM`` is the kernel's own high-water mark but counts shared pages once per process, and PSS divides them among
their sharers, so its sum is what the machine spends (the kernel keeps no peak of it, hence the sampling).
Linux only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path


def peak_rss_mib(pid: int) -> float:
    """``VmHWM`` of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pss_mib(pid: int) -> float:
    """Proportional set size of a live process, in MiB: pages it shares (libraries, the page cache of files it
    maps) are divided among the processes sharing them, so a sum over processes counts each page once."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


class PssSampler:
    """The highest sum of PSS over a set of processes, sampled every ``interval`` seconds on a thread of its own.

    The kernel keeps a high-water mark of RSS (``VmHWM``) but none of PSS, so this samples; a peak shorter than
    the interval can be missed, which is why the table keeps ``VmHWM`` as its main figure.
    """

    def __init__(self, pids: Sequence[int], interval: float = 0.25) -> None:
        self.pids = list(pids)
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(pss_mib(pid) for pid in self.pids))
            self._stop.wait(self.interval)

    def start(self) -> PssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling (again: harmless); ``peak`` keeps its value."""
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

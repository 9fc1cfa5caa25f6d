"""Shared by the benchmarks: peak memory, child processes measured on their own, the BENCH line."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from dataclasses import dataclass


def peak_mib() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class ChildRun:
    seconds: float  # wall
    cpu_seconds: float  # user + system: what the work costs whatever else loads the machine
    peak_mib: float  # the child's own peak RSS (and its waited-for children's), not this process's


def run_measured(command: list[str], **popen_kwargs) -> ChildRun:
    """Run `command` to the end; its wall and CPU time and peak RSS, from wait4 on that one child.

    wait4 gives the child's own rusage, so neither this process's memory nor an earlier
    child's peak (RUSAGE_CHILDREN keeps the largest so far) is counted in.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, **popen_kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return ChildRun(seconds=seconds, cpu_seconds=usage.ru_utime + usage.ru_stime, peak_mib=usage.ru_maxrss / 1024)


def bench_line(name: str, unit: str, value: float, baseline: float, peak: float) -> str:
    """The one line `make bench` readers grep: product rate, baseline rate, ratio, peak MiB."""
    return f"BENCH {name} {unit}={value:.0f} baseline={baseline:.0f} ratio={value / baseline:.2f} peak_mib={peak:.0f}"

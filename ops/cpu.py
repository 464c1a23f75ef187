"""CPU time of process trees, read from ``/proc`` (Linux): what a benchmark charges to each process.

A process's figure is its own user + system time plus that of its children it has reaped
(``cutime``/``cstime``), so a gunicorn worker that exited between two readings still counts, through
its master. A tree's figure adds every live descendant: a reading of a live child is never also in
its parent's ``cutime`` (the kernel moves it there only when the parent reaps it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), or None if it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself hold spaces or parentheses.
    return text.rsplit(")", 1)[1].split()


def process_cpu_seconds(pid: int) -> float:
    """User + system time of ``pid`` and of its reaped children, in seconds; 0.0 once it has gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    return sum(int(value) for value in fields[11:15]) / TICKS_PER_SECOND


def children_by_parent() -> dict[int, list[int]]:
    """Every live process's children, from one pass over ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def process_tree(pid: int, children: Mapping[int, list[int]] | None = None) -> list[int]:
    """``pid`` and all its live descendants."""
    children = children_by_parent() if children is None else children
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, ()))
    return tree


def tree_cpu_seconds(pid: int, children: Mapping[int, list[int]] | None = None) -> float:
    """CPU seconds used so far by ``pid``'s tree: every live descendant plus what each has reaped."""
    return sum(process_cpu_seconds(member) for member in process_tree(pid, children))


def cpu_snapshot(roots: Mapping[str, int | None]) -> dict[str, float]:
    """CPU seconds of each named tree now (0.0 for a root that is not running), from one pass over ``/proc``."""
    children = children_by_parent()
    return {name: tree_cpu_seconds(pid, children) if pid else 0.0 for name, pid in roots.items()}


def cpu_used(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds each tree used between two snapshots (never negative: a restarted root starts again at 0)."""
    return {name: max(0.0, after[name] - before.get(name, 0.0)) for name in after}

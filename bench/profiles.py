"""py-spy profiles of a running stack's Python processes, summarised as the functions where time went.

``bench_stack.py --profile`` records every stack process during its CPU-per-order phase
(``py-spy record --nonblocking --subprocesses``: gunicorn workers included, never paused, which gunicorn
would take for a hung worker; idle threads are not sampled) and prints, per process, where the time went and
which of our functions were on the stack (inclusive) among the project's own code and the libraries it calls.
The raw collapsed stacks stay in ``var/bench/profile-<time>/<process>.txt`` (flamegraph.pl input).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

RATE = 100  # samples per second


def start(pids: dict[str, int | None], folder: Path) -> dict[str, subprocess.Popen[bytes]]:
    """One ``py-spy record`` per process, writing collapsed stacks to ``folder/<name>.txt`` when stopped."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("py-spy is missing: it comes with requirements/dev.txt (make venv)")
    folder.mkdir(parents=True, exist_ok=True)
    return {
        name: subprocess.Popen(
            [
                py_spy,
                "record",
                "--nonblocking",
                "--subprocesses",
                "-r",
                str(RATE),
                "-f",
                "raw",
                "-o",
                str(folder / f"{name}.txt"),
                "--pid",
                str(pid),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
        if pid is not None
    }


def stop(recorders: dict[str, subprocess.Popen[bytes]]) -> None:
    for recorder in recorders.values():
        recorder.send_signal(signal.SIGINT)
    for recorder in recorders.values():
        try:
            recorder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            recorder.kill()


OWN_CODE = ("shared/", "_svc/", "ops/")


def summarise(folder: Path, *, top: int = 12) -> str:
    """Per process: the sampled busy seconds, where they were spent (leaf functions, by library or our
    own file) and which of our own functions had them on the stack (inclusive share)."""
    out = []
    for path in sorted(folder.glob("*.txt")):
        inclusive: Counter[str] = Counter()
        leaves: Counter[str] = Counter()
        busy = 0
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            frames = stack.split(";")
            count = int(count_text)
            busy += count
            leaves[_where(frames[-1])] += count
            for frame in {frame for frame in frames if any(part in frame for part in OWN_CODE)}:
                inclusive[frame] += count
        if not busy:
            continue
        out.append(f"\n== {path.stem}: {busy / RATE:.1f} busy CPU-seconds sampled; time spent in:")
        out += [f"  {100 * count / busy:5.1f}%  {place}" for place, count in leaves.most_common(top)]
        out.append("  our functions on the stack (inclusive):")
        out += [f"  {100 * count / busy:5.1f}%  {frame[:140]}" for frame, count in inclusive.most_common(top)]
    return "\n".join(out)


def _where(frame: str) -> str:
    """``function (path/file.py:12)`` -> the library (first path part) or our own file."""
    _, _, location = frame.rpartition(" (")
    file = location.split(":")[0]
    if any(part in file for part in OWN_CODE):
        return file
    return file.split("/")[0] if "/" in file else frame[:100]

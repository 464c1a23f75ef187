"""gunicorn settings for every service: ``gunicorn -c ops/gunicorn_conf.py --chdir user_svc user_svc.wsgi``.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``ops/stack.py`` sets it), the workers write their metrics
to files in that folder and ``/metrics`` adds up every worker's (prometheus_client's multiprocess mode).
"""

import ctypes
import os
import signal
import sys
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

# gunicorn runs with --chdir <service>: the repository root is what makes ``ops`` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops.gunicorn_worker import AccessLogger, ProblemJsonWorker

# Under ops/supervisor.py the socket is the supervisor's, already listening, and outlives this server.
bind = (
    f"fd://{os.environ['HTTP_LISTEN_FD']}"
    if os.environ.get("HTTP_LISTEN_FD")
    else f"{os.environ.get('HTTP_HOST', '127.0.0.1')}:{os.environ.get('HTTP_PORT', '8000')}"
)
# Sized for a 2-core machine. Two workers per service: with the GIL, one process uses one core at most,
# and two let a service use both while the rest of the stack is quiet. Threads overlap the waits on
# Postgres, gRPC and upstreams: 4 in a service (more only queue up for the same GIL and database);
# 16 in the gateway, which only waits on upstreams, so that a slow upstream holds some of its threads
# and the others still forward to the rest (requests beyond that wait in the worker's queue, and are
# shed past WEB_QUEUE_BUDGET_SECONDS: shared.middleware.LoadSheddingMiddleware).
_gateway = os.environ.get("DJANGO_SETTINGS_MODULE", "").startswith("gateway_svc.")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = ProblemJsonWorker  # gthread, with problem+json for its own 400/414/431 and load shedding
threads = int(os.environ.get("WEB_THREADS", "16" if _gateway else "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
accesslog = "-"
# One JSON line per request: remote, request, status, bytes, ms, request_id (built by AccessLogger directly).
logger_class = AccessLogger
errorlog = "-"


def on_starting(server: Any) -> None:
    """Empties the metrics folder before the first worker starts: an earlier run's files would count again."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for leftover in path.iterdir():
        if leftover.is_file():
            leftover.unlink()


# prctl(2): deliver a signal to this process when the thread that forked it dies.
PR_SET_PDEATHSIG = 1


def post_fork(server: Any, worker: Any) -> None:
    """Makes the worker die with its master.

    A master killed with SIGKILL cannot stop its workers, and orphaned workers keep the
    listening socket: requests queue on it unanswered and the restarted master cannot
    bind. Linux only; elsewhere the supervisor kills the old process group before a restart.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != server.pid:
        # The master died between fork and prctl: the signal will never come.
        os._exit(1)


def child_exit(server: Any, worker: Any) -> None:
    """Drops a dead worker's live gauges; its counters stay, as part of the service's totals."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)

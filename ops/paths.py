"""Where local state lives: everything under ``var/`` (git-ignored)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VAR = REPO_ROOT / "var"
LOG_DIR = VAR / "log"
RUN_DIR = VAR / "run"
CACHE_DIR = VAR / "cache"
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"


class ProvisionError(RuntimeError):
    """Something the stack needs could not be provided; the message says what to do."""

"""The body of every service's ``manage.py``: one copy of Django's command-line entry point."""

from __future__ import annotations

import os
import sys


def main(settings_module: str) -> None:
    """Runs ``manage.py`` with ``settings_module`` unless ``DJANGO_SETTINGS_MODULE`` names another."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

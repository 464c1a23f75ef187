#!/usr/bin/env python
"""Django's command-line utility for the gateway service."""

import os
import sys
from pathlib import Path

# The repository root holds the common packages (shared/, protos/).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_svc.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

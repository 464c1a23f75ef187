#!/usr/bin/env python
"""Django's command-line utility for the payment service."""

import sys
from pathlib import Path

# The repository root holds the common packages (shared/, protos/).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.manage import main

if __name__ == "__main__":
    main("payment_svc.settings")

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from shared.consistency import local_facts


class Command(BaseCommand):
    help = (
        "This service's facts for the cross-service consistency check, as one line of JSON: its outbox "
        "backlog, its pending dead letters, and what its apps own (orders, reservations and stock levels, "
        "the catalog's availability). Read-only. `manage_all.py check_consistency` joins every service's answer."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(local_facts()))

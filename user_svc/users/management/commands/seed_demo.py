from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from shared.env import env_str
from users.models import Role
from users.services import user_ensure

DEMO_USERS = [
    ("staff@example.com", Role.STAFF, "Sam", "Staff"),
    ("customer@example.com", Role.CUSTOMER, "Casey", "Customer"),
]


class Command(BaseCommand):
    help = "Creates the demo staff and customer users (password: SEED_PASSWORD). Idempotent; never in production."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DJANGO_ENV == "production":
            raise CommandError("Demo data is never seeded in production.")
        password = env_str("SEED_PASSWORD", "demo-pass-123")
        for email, role, first_name, last_name in DEMO_USERS:
            user_ensure(email=email, password=password, role=role, first_name=first_name, last_name=last_name)
        self.stdout.write(f"demo users: {', '.join(email for email, *_ in DEMO_USERS)}")

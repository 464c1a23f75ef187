"""The periodic tasks every service runs (in its ``consume_events`` processes, :mod:`shared.periodic`)."""

from __future__ import annotations

import logging

from shared.periodic import periodic
from shared.ratelimit import forget_old_sign_in_clients

logger = logging.getLogger(__name__)


@periodic("shared.forget_old_sign_in_clients", every_seconds=3600)
def forget_sign_in_clients() -> None:
    forgotten = forget_old_sign_in_clients()
    if forgotten:
        logger.info("forgot %d sign-in addresses not used within LOGIN_KNOWN_CLIENT_DAYS", forgotten)

"""The periodic tasks every service runs (in its ``consume_events`` processes, :mod:`shared.periodic`)."""

from __future__ import annotations

import logging

from shared.periodic import periodic
from shared.ratelimit import forget_old_sign_in_clients
from shared.revocations import prune_token_revocations

logger = logging.getLogger(__name__)


@periodic("shared.forget_old_sign_in_clients", every_seconds=3600)
def forget_sign_in_clients() -> None:
    forgotten = forget_old_sign_in_clients()
    if forgotten:
        logger.info("forgot %d sign-in addresses not used within LOGIN_KNOWN_CLIENT_DAYS", forgotten)


@periodic("shared.prune_token_revocations", every_seconds=60)
def prune_expired_token_revocations() -> None:
    pruned = prune_token_revocations()
    if pruned:
        logger.info("pruned %d token revocations whose tokens have all expired", pruned)

"""Ids as they arrive in paths, gRPC requests and command lines: text that may or may not be a UUID."""

from __future__ import annotations

import uuid


def parse_uuid(value: object) -> uuid.UUID | None:
    """``value`` as a UUID, None when it is not one (callers answer "not found" or "invalid")."""
    try:
        return uuid.UUID(value)  # type: ignore[arg-type]
    except (ValueError, AttributeError, TypeError):
        return None

"""This service answers its probes, metrics and admin, and errors are problem+json (shared suite)."""

from shared.testing.probes import *  # noqa: F403

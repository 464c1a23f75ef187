"""Clients signed in as a customer, as staff, or not at all (shared.testing.fixtures)."""

from shared.testing.fixtures import anonymous, as_customer, as_staff, customer_id, staff_id  # noqa: F401 (fixtures)

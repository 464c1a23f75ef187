"""``manage_all.py check_consistency``: the invariants that span the services, checked read-only.

Each domain service answers for its own database (``manage.py consistency_facts``,
:mod:`shared.consistency`), all at once as subprocesses with each service's environment, like
``manage_all.py saga``; :func:`check` joins the answers and names every violation:

- an order's status agrees with inventory's reservation for it (:data:`EXPECTED_RESERVATION`);
- a product's ``reserved`` equals the lines of its active (``reserved``) reservations;
- ``on_hand >= reserved >= 0``;
- the ledger sums to the levels (every change of the levels wrote its movement);
- the catalog's ``available`` equals inventory's when both have seen the same ``stock_version``;
- one order per Idempotency-Key.

The services are not read at one instant, and events take a moment to travel: a fact that changed
within ``grace_seconds`` before the earliest read is *in flight*, counted but not judged. Run it on a
quiet stack (after the chaos run has settled) with a grace of 0 to judge everything. Outbox backlogs
and pending dead letters are reported per service; they are not violations by themselves.

Never writes: safe to run against production.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from ops.saga import EnvFor, ask

DEFAULT_GRACE_SECONDS = 30.0
OK, VIOLATED, BAD_INPUT = 0, 1, 2

# The reservation states (None: inventory has not decided) each order status may be seen with.
# A pending order may hold a reservation while it waits for its payment; a failed payment rejects it
# and inventory releases (``released``).
# A cancelled order may have a failed reservation: cancelled while pending, inventory then found it short.
EXPECTED_RESERVATION: Mapping[str, frozenset[str | None]] = {
    "pending": frozenset({None, "reserved", "failed", "released"}),
    "confirmed": frozenset({"reserved"}),
    "rejected": frozenset({None, "released", "failed"}),
    "cancelled": frozenset({None, "released", "failed"}),
    "shipped": frozenset({"consumed"}),
    "delivered": frozenset({"consumed"}),
    "refunded": frozenset({"consumed"}),  # a refund does not return the stock
}


@dataclass(frozen=True)
class Violation:
    rule: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.subject}: {self.detail}"


# Files a difference as a violation, or as in flight when one of the given times (ISO) is within the grace.
Judge = Callable[..., None]


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)
    in_flight: list[Violation] = field(default_factory=list)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    grace_seconds: float = DEFAULT_GRACE_SECONDS

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "violations": [asdict(v) for v in self.violations],
            "in_flight": [asdict(v) for v in self.in_flight],
            "services": self.services,
            "counts": self.counts,
            "grace_seconds": self.grace_seconds,
        }


def check(
    facts: Mapping[str, Mapping[str, Any]],
    *,
    unreachable: Mapping[str, str] | None = None,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
) -> Report:
    """Joins the services' facts (``{service: consistency_facts answer}``) into a report of violations."""
    report = Report(grace_seconds=grace_seconds)
    for service, why in sorted((unreachable or {}).items()):
        report.violations.append(Violation("service_unreachable", service, f"no facts: {why}"))
    parts: dict[str, Any] = {}
    for service, answer in sorted(facts.items()):
        report.services[service] = {"outbox": answer["outbox"], "dead_letters": answer["dead_letters"]}
        for name, value in answer.items():
            if name not in ("service", "read_at", "outbox", "dead_letters") and value is not None:
                parts.setdefault(name, value)
    reads = [datetime.fromisoformat(answer["read_at"]) for answer in facts.values()]
    cutoff = (min(reads) if reads else datetime.max) - timedelta(seconds=grace_seconds)

    def judge(violation: Violation, *changed_at: str | None) -> None:
        recent = any(at is not None and datetime.fromisoformat(at) >= cutoff for at in changed_at)
        (report.in_flight if recent else report.violations).append(violation)

    orders = parts.get("orders")
    reservations = parts.get("reservations")
    if orders is not None and reservations is not None:
        _check_orders(orders, reservations, judge=judge, report=report)
    stock = parts.get("stock")
    if stock is not None:
        _check_stock(stock, judge=judge)
        catalog = parts.get("catalog")
        if catalog is not None:
            _check_catalog(catalog, stock, judge=judge)
            report.counts["products"] = len(catalog)
    for row in parts.get("idempotency_keys_reused", []):
        report.violations.append(
            Violation(
                "one_order_per_idempotency_key",
                f"customer {row['customer_id']} key {row['key']!r}",
                f"{row['rows']} rows, {row['orders']} orders",
            )
        )
    return report


def _check_orders(
    orders: list[list[Any]], reservations: Mapping[str, list[Any]], *, judge: Judge, report: Report
) -> None:
    report.counts["orders"] = len(orders)
    report.counts["reservations"] = len(reservations)
    known = set()
    for order_id, status, updated_at in orders:
        known.add(order_id)
        state, reserved_at = reservations.get(order_id, (None, None))
        allowed = EXPECTED_RESERVATION.get(status)
        if allowed is None:
            judge(Violation("order_status_known", f"order {order_id}", f"unknown status {status!r}"))
        elif state not in allowed:
            expected = " or ".join(sorted(s or "none" for s in allowed))
            judge(
                Violation(
                    "order_matches_reservation",
                    f"order {order_id}",
                    f"order is {status} but its reservation is {state or 'missing'} (expected {expected})",
                ),
                updated_at,
                reserved_at,
            )
    for order_id, (state, reserved_at) in reservations.items():
        if order_id not in known:
            judge(
                Violation("reservation_has_order", f"order {order_id}", f"a {state} reservation for an unknown order"),
                reserved_at,
            )


def _check_stock(stock: list[dict[str, Any]], *, judge: Judge) -> None:
    for row in stock:
        subject = f"product {row['product_id']} ({row['sku']})"
        if not row["on_hand"] >= row["reserved"] >= 0:
            judge(Violation("levels_in_bounds", subject, f"on_hand {row['on_hand']}, reserved {row['reserved']}"))
        if row["reserved"] != row["reserved_by_reservations"]:
            judge(
                Violation(
                    "reserved_matches_reservations",
                    subject,
                    f"reserved {row['reserved']} but active reservations hold {row['reserved_by_reservations']}",
                )
            )
        if (row["ledger_on_hand"], row["ledger_reserved"]) != (row["on_hand"], row["reserved"]):
            judge(
                Violation(
                    "ledger_matches_levels",
                    subject,
                    f"levels on_hand {row['on_hand']}, reserved {row['reserved']}; the ledger sums to "
                    f"on_hand {row['ledger_on_hand']}, reserved {row['ledger_reserved']}",
                )
            )


def _check_catalog(catalog: Mapping[str, list[int]], stock: list[dict[str, Any]], *, judge: Judge) -> None:
    levels = {row["product_id"]: row for row in stock}
    for product_id, (available, version) in sorted(catalog.items()):
        row = levels.get(product_id)
        subject = f"product {product_id}"
        if row is None:
            if available != 0:
                judge(Violation("catalog_matches_inventory", subject, f"catalog says {available} available; no stock"))
            continue
        actual = row["on_hand"] - row["reserved"]
        if version == row["stock_version"] and available != actual:
            judge(
                Violation(
                    "catalog_matches_inventory",
                    subject,
                    f"catalog says {available} available, inventory {actual}, both at stock version {version}",
                )
            )
        elif version < row["stock_version"]:
            judge(
                Violation(
                    "catalog_matches_inventory",
                    subject,
                    f"catalog is at stock version {version}, inventory at {row['stock_version']} "
                    f"(catalog {available} available, inventory {actual})",
                ),
                row["updated_at"],
            )
        elif version > row["stock_version"]:
            judge(
                Violation(
                    "catalog_matches_inventory",
                    subject,
                    f"catalog is at stock version {version}, ahead of inventory's {row['stock_version']}",
                )
            )
    for product_id in sorted(set(levels) - set(catalog)):
        judge(Violation("stock_has_product", f"product {product_id}", "stock for a product the catalog does not know"))


def gather(*, env_for: EnvFor) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Every domain service's facts, and the services that did not answer (with why)."""
    answers = ask(["consistency_facts"], env_for=env_for)
    facts = {name: json.loads(a.output) for name, a in answers.items() if not a.error}
    return facts, {name: a.error for name, a in answers.items() if a.error}


def render(report: Report) -> str:
    lines = [
        f"checked {report.counts.get('orders', 0)} orders, {report.counts.get('reservations', 0)} reservations, "
        f"{report.counts.get('products', 0)} products across {len(report.services)} services"
    ]
    for service, status in report.services.items():
        outbox, letters = status["outbox"], status["dead_letters"]
        lines.append(
            f"  {service:<10} outbox backlog {outbox['pending']}"
            + (f" (oldest {outbox['oldest_pending_age_seconds']:.1f}s)" if outbox["pending"] else "")
            + f", dead letters pending {letters['pending']}"
        )
    if report.in_flight:
        lines.append(
            f"{len(report.in_flight)} difference(s) changed within the last {report.grace_seconds:g}s "
            "are in flight, not judged (run again, or with --grace 0 on a quiet stack)"
        )
    if report.ok:
        lines.append("consistent: no violation")
    else:
        lines.append(f"{len(report.violations)} violation(s):")
        lines.extend(f"  {violation}" for violation in report.violations)
    return "\n".join(lines)


def run(*, as_json: bool, grace_seconds: float, env_for: EnvFor, out: TextIO, err: TextIO) -> int:
    """The whole ``check_consistency`` command; returns the exit code (0 consistent, 1 violations, 2 bad input)."""
    if grace_seconds < 0:
        err.write("--grace is a number of seconds, 0 or more\n")
        return BAD_INPUT
    facts, unreachable = gather(env_for=env_for)
    report = check(facts, unreachable=unreachable, grace_seconds=grace_seconds)
    out.write((json.dumps(report.as_json(), indent=2) if as_json else render(report)) + "\n")
    return OK if report.ok else VIOLATED

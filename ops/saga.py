"""``manage_all.py saga``: an order's saga story across the services, the stuck orders, and re-driving one.

Each domain service tells its own part (``manage.py saga_story``, run in all of them at once as
subprocesses with each service's environment); :mod:`shared.saga` merges the parts, names the
step a pending order waits on and renders the text. Re-driving runs ``manage.py outbox_resend``
in the service whose outbox holds the event that step waits on, so it goes out again with the
same event id: a consumer that applied it already skips it, which makes a re-drive safe to repeat.

The environment of each service is a parameter (``env_for``), so the tests point all of this at
an isolated stack and ``manage_all.py`` at the running one.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ops.stack import manage_command
from shared.ids import parse_uuid
from shared.saga import merge, next_step, render
from shared.topology import DOMAIN_SERVICES, ServiceSpec

EnvFor = Callable[[ServiceSpec], dict[str, str]]
TIMEOUT_SECONDS = 120.0
DEFAULT_OLDER_THAN = 60.0
OK, UNKNOWN_ORDER, BAD_INPUT = 0, 1, 2


@dataclass(frozen=True)
class Answer:
    """What one service's command printed (the last line, as JSON), or why it did not answer."""

    service: str
    output: Any = None
    error: str = ""


def ask(
    args: Sequence[str], *, env_for: EnvFor, services: Sequence[ServiceSpec] = DOMAIN_SERVICES
) -> dict[str, Answer]:
    """Runs ``manage.py <args>`` in every service at once; a service whose command fails is an error answer."""
    running = {
        spec.name: subprocess.Popen(
            manage_command(spec, *args), env=env_for(spec), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for spec in services
    }
    answers = {}
    for name, process in running.items():
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            answers[name] = Answer(name, error=f"no answer within {TIMEOUT_SECONDS:.0f}s")
            continue
        lines = stdout.strip().splitlines()
        if process.returncode != 0 or not lines:
            last = (stderr.strip().splitlines() or [f"exit code {process.returncode}"])[-1]
            answers[name] = Answer(name, error=last)
            continue
        answers[name] = Answer(name, output=lines[-1])
    return answers


def stories(order_ids: Sequence[str], *, env_for: EnvFor) -> list[dict[str, Any]]:
    """The merged story of each order (ids already valid UUIDs), in the order given."""
    answers = ask(["saga_story", *order_ids], env_for=env_for)
    unreachable = {name: answer.error for name, answer in answers.items() if answer.error}
    local = {name: json.loads(answer.output)["stories"] for name, answer in answers.items() if not answer.error}
    return [
        merge((parts[order_id] for parts in local.values()), unreachable=unreachable) | {"order_id": order_id}
        for order_id in order_ids
    ]


def stuck(*, older_than: float, env_for: EnvFor) -> list[dict[str, Any]]:
    """Pending orders older than ``older_than`` seconds, oldest first, each with the step it waits on.

    Raises :class:`RuntimeError` when the service that owns orders did not answer.
    """
    answers = ask(["saga_story", "--stuck", "--older-than", str(older_than)], env_for=env_for)
    owners = [json.loads(a.output)["pending_orders"] for a in answers.values() if a.output is not None]
    pending = next((listing for listing in owners if listing is not None), None)
    if pending is None:
        errors = "; ".join(f"{name}: {answer.error}" for name, answer in answers.items() if answer.error)
        raise RuntimeError(f"no service listed pending orders ({errors or 'none owns orders'})")
    if not pending:
        return []
    merged = {story["order_id"]: story for story in stories([row["order_id"] for row in pending], env_for=env_for)}
    return [row | {"waiting_on": merged[row["order_id"]]["waiting_on"]} for row in pending]


def redrive(story: dict[str, Any], *, env_for: EnvFor) -> str:
    """Re-publishes the event the order's saga waits on (same event id); returns what was done."""
    order = story["order"]
    step = next_step(story)
    if step is None:
        return f"nothing to re-drive: order {story['order_id']} is {order['status']}"
    if step.resend is None:
        return f"nothing to re-drive: the order waits on {step.waiting_on}"
    spec = next(spec for spec in DOMAIN_SERVICES if spec.name == step.resend.service)
    result = subprocess.run(
        manage_command(spec, "outbox_resend", step.resend.event_id),
        env=env_for(spec),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"outbox_resend failed in {spec.name}: {result.stderr.strip()[-2000:]}")
    return f"re-driving: the order waits on {step.waiting_on}\n[{spec.name}] {result.stdout.strip()}"


def run(
    *,
    order_id: str | None,
    stuck_only: bool,
    older_than: float,
    as_json: bool,
    redrive_it: bool,
    env_for: EnvFor,
    out: TextIO,
    err: TextIO,
) -> int:
    """The whole ``saga`` command; returns the exit code (0 ok, 1 unknown order, 2 bad input)."""
    if stuck_only:
        if order_id is not None or redrive_it:
            err.write("saga --stuck takes no order id and no --redrive\n")
            return BAD_INPUT
        if older_than < 0:
            err.write("--older-than is a number of seconds, 0 or more\n")
            return BAD_INPUT
        return _print_stuck(older_than=older_than, as_json=as_json, env_for=env_for, out=out, err=err)
    if order_id is None:
        err.write("give an ORDER_ID (or --stuck)\n")
        return BAD_INPUT
    parsed_id = parse_uuid(order_id)
    if parsed_id is None:
        err.write(f"{order_id!r} is not an order id (order ids are UUIDs)\n")
        return BAD_INPUT
    parsed = str(parsed_id)
    (story,) = stories([parsed], env_for=env_for)
    if story["order"] is None:
        why = story["unreachable"].get("order")
        err.write(
            f"the order service did not answer: {why}\n" if why else f"no order has the id {parsed}\n",
        )
        return UNKNOWN_ORDER
    done = redrive(story, env_for=env_for) if redrive_it else None
    if as_json:
        out.write(json.dumps(story | ({"redrive": done} if done else {}), indent=2) + "\n")
    else:
        out.write(render(story) + "\n")
        if done:
            out.write(done + "\n")
    return OK


def _print_stuck(*, older_than: float, as_json: bool, env_for: EnvFor, out: TextIO, err: TextIO) -> int:
    try:
        found = stuck(older_than=older_than, env_for=env_for)
    except RuntimeError as exc:
        err.write(f"{exc}\n")
        return UNKNOWN_ORDER
    if as_json:
        out.write(json.dumps({"older_than_seconds": older_than, "stuck": found}, indent=2) + "\n")
        return OK
    if not found:
        out.write(f"no order has been pending for more than {older_than:g}s\n")
        return OK
    out.write(f"{len(found)} order(s) pending for more than {older_than:g}s, oldest first:\n")
    for row in found:
        out.write(f"  {row['order_id']}  pending {row['age_seconds']:.0f}s  waiting on: {row['waiting_on']}\n")
    out.write("`manage_all.py saga ORDER_ID` tells one's story; `--redrive` re-publishes what it waits on.\n")
    return OK

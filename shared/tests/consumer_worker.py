"""A consumer process for the failure tests: ``python -m shared.tests.consumer_worker`` (cwd order_svc).

It runs the real consumer loop with the test handler of :mod:`shared.tests.effects`.
"""

import django

django.setup()

from shared.consumer import EventConsumer  # noqa: E402
from shared.loops import StopSignal  # noqa: E402
from shared.tests import effects  # noqa: E402

EventConsumer(["inventory"], StopSignal().install(), effects.HANDLERS).run()

"""The gateway answers its probes, metrics and admin, and errors are problem+json (shared suite).

Its /readyz asks the upstream services instead, tested in test_readyz.py.
"""

from shared.testing.probes import (  # noqa: F401
    test_admin_login_page_is_served,
    test_healthz_is_200,
    test_metrics_are_exposed,
    test_unknown_path_is_problem_json,
)

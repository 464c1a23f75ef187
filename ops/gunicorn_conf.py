"""gunicorn settings for every service: ``gunicorn -c ops/gunicorn_conf.py --chdir user_svc user_svc.wsgi``."""

import os

bind = f"{os.environ.get('HTTP_HOST', '127.0.0.1')}:{os.environ.get('HTTP_PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
accesslog = "-"
access_log_format = (
    '{"remote":"%(h)s","request":"%(r)s","status":%(s)s,"bytes":"%(B)s","ms":%(M)s,"request_id":"%({x-request-id}o)s"}'
)
errorlog = "-"

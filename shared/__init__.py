"""Common code for every service: settings, errors, health, logging, Kafka, gRPC.

A library: it never imports a service. Installed in each Django project as the
``shared`` app so that its management commands (``run_grpc``, ``consume_events``,
``relay_outbox``) and models (outbox, inbox) exist in every service.
"""

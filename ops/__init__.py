"""Operator tooling: provisioning Postgres and Kafka, supervising processes, code generation."""

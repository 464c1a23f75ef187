"""Generated gRPC contracts (regenerate with `python -m ops.protos`)."""

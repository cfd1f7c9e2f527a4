"""Prefect flows: thin orchestration over the `pipeline` library."""

"""Prefect task wrappers around the core: caching, retries, timeouts, artifacts."""

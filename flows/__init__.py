"""Prefect flows: the shape of the work, composed from tasks/."""

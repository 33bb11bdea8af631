"""Prefect flows: the shape of the work, composed from tasks/.

A flow-run process started by a worker that has only the server's URL takes the storage
settings from the server's blocks here, before any task module reads the settings.
"""

from flows.worker_settings import configure_flow_run_from_blocks

configure_flow_run_from_blocks()

"""paperflow: scientific papers in, structured metadata out. Prefect-free core."""

__version__ = "0.1.0"

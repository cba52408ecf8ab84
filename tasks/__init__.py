"""docflow's work: pure document-processing logic (no Celery, no Redis)."""

__version__ = "0.1.0"

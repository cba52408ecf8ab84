"""docflow's runtime: the Celery app, settings, logging, watcher and CLI."""

"""The user's tools beside the runtime: `docflow bench` (`bench/`, with its synthetic
`corpus`) and `docflow eval` (`evaluate`). The pipeline never imports them, and `tasks/`
must not either; their CLI is the `docflow` one (workers/commands/bench.py, entities.py).
"""

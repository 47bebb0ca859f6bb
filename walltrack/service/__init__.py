"""The whole service under one command: ``python -m walltrack serve`` (docs/operations.md).

:mod:`walltrack.service.supervisor` runs the server and the scheduler as child processes,
restarts a crashed one with back-off and stops both on SIGTERM; :mod:`walltrack.service.status`
is the ``live_status`` row it keeps, which ``/health`` shows.
"""

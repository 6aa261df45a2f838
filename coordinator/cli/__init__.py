"""The ``callfleet`` command line: one module per command (``status``, ``call``, ``up``,
``events``, ``load``, ``keys``, ...), parsed in ``main``; ``python -m coordinator.cli`` runs it."""

from coordinator.cli.main import main

__all__ = ["main"]

"""The ``wandel`` command line: :mod:`~wandel.cli.app` builds the app, one module per command group.

Commands parse options, call :mod:`wandel.workflow` and print; they hold no model logic.
"""

from wandel.cli.app import app, main

__all__ = ["app", "main"]

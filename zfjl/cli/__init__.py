"""The zfjl command line: parse, call one library function, print the result.

One module per noun (`hold.py` holds `zfjl hold add|ls|release`); `app.py` is the root
command and `main` (`build_app()` is the whole command tree), `output.py` the one way
results are printed, `verbs.py` the group that keeps the old spellings working. See
docs/cli.md.
"""

from zfjl.cli.app import build_app, main, run

__all__ = ["build_app", "main", "run"]

"""The error a command-line tool raises for a user mistake in its arguments.

It lives apart from :mod:`vitlearn.editions.cli` so that the command modules can raise it without
importing the CLI that imports them.
"""


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""

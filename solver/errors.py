"""Error types and the exit codes they map to (README.md, "What happens when things go wrong").

Bad input (config, paths, arguments, files from elsewhere) is an :class:`InputError`:
the CLI prints its message on one line and exits with code 2. Anything else the code
anticipates is a :class:`FilathermError` (exit 1).
"""


class FilathermError(Exception):
    """A failure the code anticipated; the CLI prints the message and exits 1."""

    exit_code = 1


class InputError(FilathermError):
    """Bad input from the user: one-line message, exit code 2."""

    exit_code = 2


class ConfigError(InputError):
    """A configuration file, override or key path that cannot be accepted."""


class Interrupted(FilathermError):
    """Stopped by the user (Ctrl-C / SIGINT) after saving what was done; exit code 130."""

    exit_code = 130

"""The exception types the CLI turns into a one-line error message and a non-zero exit code.

Exit codes (the convention of every ``geomdl`` command, see ``docs/reliability.md``): 2 a usage error (the
command line itself is wrong: unknown command, option or choice, a value of the wrong type), 1 bad values or
files (including a full disk or an unwritable folder), 3 a failed run (a diverged or dead network, a lost Dask
scheduler, an internal error), 130 / 143 / 129 interrupted by SIGINT (Ctrl-C) / SIGTERM / SIGHUP.
"""


class GeomdlError(Exception):
    """A user-facing error: bad input, a failed precondition, an unreadable file.

    The message must be one line that says what is wrong and, where possible, what to do instead.
    ``exit_code``: the CLI's exit status for it (1: bad values or files).
    """

    exit_code = 1


class UsageError(GeomdlError):
    """The command line is wrong: an unknown choice (scene, --quality, --format, --mode, ...) or a value that
    does not parse (``--sls-digits x,y``). Exit code 2, as for click's own usage errors."""

    exit_code = 2


class RunFailedError(GeomdlError):
    """A run that started could not finish (e.g. the Dask scheduler went away); finished work is kept.
    Exit code 3."""

    exit_code = 3


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C's ``KeyboardInterrupt`` so that the same clean-up
    runs (temp files removed, temp folders deleted). ``exit_code`` = 128 + the signal number."""

    def __init__(self, signum: int, name: str):
        super().__init__(name)
        self.signum = signum
        self.name = name
        self.exit_code = 128 + signum

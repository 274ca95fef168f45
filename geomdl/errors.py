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


# ---------------------------------------------------------------- one-line messages and exit codes
INTERRUPTED = "no partial output was left behind"
_caught_signal: list[int] = []   # the SIGTERM / SIGHUP that interrupted this process, if any


def one_line(text: object) -> str:
    """A message on one line (an exception text can hold newlines)."""
    return " ".join(str(text).split())


def oserror_message(e: OSError) -> str:
    where = f" ({e.filename})" if getattr(e, "filename", None) else ""
    return f"{e.strerror or type(e).__name__}{where}" if e.strerror else f"{type(e).__name__}: {one_line(e)}"


def _on_signal(signum: int, frame) -> None:
    """SIGTERM / SIGHUP: like Ctrl-C, unwind (every atomic write removes its temp file, every temp folder is
    deleted) and exit 128 + signum. Later signals are ignored so that the clean-up itself is not cut short."""
    import signal  # noqa: PLC0415

    if _caught_signal:
        return
    _caught_signal.append(signum)
    raise Interrupted(signum, signal.Signals(signum).name)


def install_signal_handlers() -> None:
    """Turn SIGTERM and SIGHUP into :class:`Interrupted` in the main thread (where no handler is set yet)."""
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None and signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _on_signal)


def interrupted() -> tuple[str, int]:
    """The message and exit code of an interrupted run: 130 (Ctrl-C) or 128 + the signal that ended it."""
    import signal  # noqa: PLC0415

    if _caught_signal:
        return (f"error: terminated by {signal.Signals(_caught_signal[0]).name}; {INTERRUPTED}",
                128 + _caught_signal[0])
    return f"error: interrupted; {INTERRUPTED}", 130


def fault(e: BaseException) -> tuple[str, int]:
    """The one-line message and exit code of an unexpected fault: out of memory (1), an OS error such as a full
    disk (1; the atomic writes left no partial file), anything else an internal error (3)."""
    if isinstance(e, MemoryError):
        return "error: out of memory (the request is too large for this machine; use smaller options)", 1
    if isinstance(e, OSError):
        return f"error: {oserror_message(e)}", 1
    return (f"error: internal error ({type(e).__name__}: {one_line(e)[:300]}); please report it with the "
            "command line (GEOMDL_DEBUG=1 shows the traceback)", 3)

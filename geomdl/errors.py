"""The one exception type the CLI turns into a one-line error message and a non-zero exit."""


class GeomdlError(Exception):
    """A user-facing error: bad input, a failed precondition, an unreadable file.

    The message must be one line that says what is wrong and, where possible, what to do instead.
    """

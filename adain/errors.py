"""The one exception type for expected failures (bad input, missing files, no memory).

The CLI turns an ``AdaINError`` into a single red line and a non-zero exit; anything
else is a bug and keeps its traceback.
"""


class AdaINError(Exception):
    """An expected failure whose message says what is wrong and what to do next."""

"""The one exception family for mistakes a user can fix (bad input, bad config, missing files).

The CLI's error boundary prints a :class:`UserError` as one line (``polyret: error: <message>``)
and exits with status 2; a traceback is shown only with ``-v``. Messages name the file and, where
there is one, the line. Anything else escaping a command is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Input, configuration or environment a user can fix; the message says what and where."""


class ConfigError(UserError, ValueError):
    """An invalid configuration value; the message names the file and the key."""


class NonFiniteError(UserError, FloatingPointError):
    """NaN or infinite values where finite ones are required (training loss, embeddings)."""

"""The one error tree of fishnet-stack.

Every error a user can cause is a :class:`FishnetError`: the CLI prints its message (what went
wrong, where, how to fix it) and exits non-zero, never with a traceback::

    FishnetError
    ├── ConfigError            bad input from the user: flags, files, stack YAML
    ├── DevnetError            the embedded devnet cannot start, stop or be reached
    └── AlephError             the Aleph node refused or failed a request
        ├── MessageRejected    the node answered 422: the message is invalid
        └── NodeUnavailable    5xx, timeouts, refused connections: transient, retry
"""

from __future__ import annotations

__all__ = [
    "AlephError",
    "ConfigError",
    "DevnetError",
    "FishnetError",
    "MessageRejected",
    "NodeUnavailable",
]


class FishnetError(Exception):
    """Base of every error fishnet-stack raises on purpose."""


class ConfigError(FishnetError):
    """The user's input (a flag, a file, a stack file) is invalid."""


class DevnetError(FishnetError):
    """The embedded devnet could not be started, stopped or reached."""


class AlephError(FishnetError):
    """An Aleph node refused or failed a request."""


class MessageRejected(AlephError):
    """The node rejected a message as invalid (HTTP 422); sending it again will not help."""


class NodeUnavailable(AlephError):
    """The node could not be reached or failed (5xx, timeout); the request may be retried."""

"""The one error tree of fishnet-stack.

Every error a user can cause is a :class:`FishnetError`: the CLI prints its message (what went
wrong, where, how to fix it) and exits non-zero, never with a traceback::

    FishnetError
    ├── ConfigError            bad input from the user: flags, files, stack YAML
    │   └── StackError         a stack file is invalid: every problem with file:line:column
    ├── DeployError            a deployment cannot proceed as planned
    │   ├── PlanError          the stack cannot be planned (code changed under a version, ...)
    │   ├── StalePlan          a saved plan no longer matches what is on the network
    │   ├── ConflictError      another apply changed the manifest concurrently
    │   └── VmUnhealthy        a deployed VM did not answer /health or /identity in time
    ├── DevnetError            the embedded devnet cannot start, stop or be reached
    ├── AlephError             the Aleph node refused or failed a request
    │   ├── MessageRejected    the node answered 422: the message is invalid
    │   └── NodeUnavailable    5xx, timeouts, refused connections: transient, retry
    ├── RecordError            a record operation cannot be done as asked
    │   └── QueryError         a filter names an undeclared index or is malformed
    ├── DataError              timeseries values or a chunk are invalid or unreadable
    ├── ApiError               the Fishnet API refused a request (SDK)
    │   ├── SignatureRejected  401: the request signature was refused
    │   ├── PermissionDenied   403: the caller may not do this
    │   ├── NotFound           404: no such record
    │   ├── InvalidRequest     400/413/422: the request is malformed
    │   └── ApiUnavailable     no API instance answered
    ├── ExecutionFailed        an execution ended FAILED or DENIED; ``reason`` says why
    └── UntrustedDeployment    the manifest or a result is not backed by the owner's keys
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AlephError",
    "ApiError",
    "ApiUnavailable",
    "ExecutionFailed",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "SignatureRejected",
    "UntrustedDeployment",
    "ConfigError",
    "DataError",
    "ConflictError",
    "DeployError",
    "PlanError",
    "StackError",
    "StackProblem",
    "StalePlan",
    "VmUnhealthy",
    "DevnetError",
    "FishnetError",
    "MessageRejected",
    "NodeUnavailable",
    "QueryError",
    "RecordError",
]


class FishnetError(Exception):
    """Base of every error fishnet-stack raises on purpose."""


class ConfigError(FishnetError):
    """The user's input (a flag, a file, a stack file) is invalid."""


@dataclass(frozen=True)
class StackProblem:
    """One problem of a stack file, where the user wrote it."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"


class StackError(ConfigError):
    """A stack file is invalid; ``problems`` lists every problem found, one per line."""

    def __init__(self, problems: Sequence[StackProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DeployError(FishnetError):
    """A deployment (plan, apply, rollback, destroy, gc) cannot proceed."""


class PlanError(DeployError):
    """The stack cannot be planned against what is deployed; the message says what to change."""


class StalePlan(DeployError):
    """A saved plan was made from a state that has changed since; plan again."""


class ConflictError(DeployError):
    """Another apply wrote the manifest concurrently and won; plan again to see the truth."""


class VmUnhealthy(DeployError):
    """A deployed VM did not answer ``/health`` (or ``/identity``) as expected in time."""


class DevnetError(FishnetError):
    """The embedded devnet could not be started, stopped or reached."""


class AlephError(FishnetError):
    """An Aleph node refused or failed a request."""


class MessageRejected(AlephError):
    """The node rejected a message as invalid (HTTP 422); sending it again will not help."""


class NodeUnavailable(AlephError):
    """The node could not be reached or failed (5xx, timeout); the request may be retried."""


class RecordError(FishnetError):
    """A record operation cannot be done as asked (not saved yet, wrong class, ...)."""


class QueryError(RecordError):
    """A record filter names a field outside the declared indices, or is malformed."""


class DataError(FishnetError):
    """Timeseries values or a Parquet chunk are invalid, or a chunk cannot be read."""


class ApiError(FishnetError):
    """The Fishnet API refused a request; ``status`` is the HTTP status (0: none reached)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class SignatureRejected(ApiError):
    """401: the request's signature was missing, forged, stale or replayed."""


class PermissionDenied(ApiError):
    """403: the caller may not read or change this."""


class NotFound(ApiError):
    """404: the record does not exist (or is not visible to the API yet)."""


class InvalidRequest(ApiError):
    """400/413/422: the request is malformed; the message says what to change."""


class ApiUnavailable(ApiError):
    """No API instance answered (all down, or 5xx everywhere)."""


class ExecutionFailed(FishnetError):
    """An execution ended FAILED or DENIED; ``reason`` is what the executors reported."""

    def __init__(self, execution_id: str, status: str, reason: str) -> None:
        super().__init__(f"execution {execution_id} {status}: {reason}")
        self.execution_id, self.status, self.reason = execution_id, status, reason


class UntrustedDeployment(FishnetError):
    """A manifest names VMs the owner never authorised, or a result was not posted by an
    executor authorised in its execution's release."""

"""Execution results as pandas objects, and their verification against the network."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fishnet_stack.aleph.reader import NodeReader
from fishnet_stack.aleph.signing import aleph_verification_buffer, verify_text
from fishnet_stack.errors import UntrustedDeployment
from fishnet_stack.manifest import Manifest
from fishnet_stack.sdk.discovery import owner_delegates

__all__ = ["ExecutionResult", "to_pandas"]


def to_pandas(kind: str, data: Any) -> Any:
    """The API's JSON result as pandas: ``dataframe`` (``orient="split"``, ISO timestamps) ->
    DataFrame, ``series`` (``{label: value}``) -> Series, anything else as it is."""
    if kind == "dataframe":
        frame = pd.DataFrame(data["data"], columns=data["columns"],
                             index=_index(data["index"]))
        return frame
    if kind == "series":
        labels = list(data)
        return pd.Series(list(data.values()), index=_index(labels), dtype="float64"
                         if all(isinstance(v, int | float) or v is None for v in data.values())
                         else None)
    return data


def _index(labels: list[Any]) -> pd.Index:
    try:
        return pd.DatetimeIndex(pd.to_datetime(labels, utc=True, format="ISO8601"))
    except (ValueError, TypeError):
        return pd.Index(labels)


@dataclass
class ExecutionResult:
    """The final result of one execution.

    >>> result = fishnet.executions.run(dataset, algorithm)
    >>> result.to_pandas()          # DataFrame, Series, scalar or dict
    >>> result.verify()             # raises UntrustedDeployment unless provably genuine
    """

    execution_id: str
    status: str
    kind: str
    data: Any
    result_id: str | None
    data_hash: str | None
    execution: dict[str, Any]
    _parquet: bytes | None = None
    # What verify() checks against: the node, the stack owner and the manifest it was found by.
    _reference: tuple[NodeReader, str, Manifest] | None = None

    def to_pandas(self) -> Any:
        """The result as a pandas object (frames and series) or plain JSON values."""
        if self._parquet is not None and self.kind in ("dataframe", "series"):
            frame = pd.read_parquet(io.BytesIO(self._parquet))
            return frame.iloc[:, 0].rename(None) if self.kind == "series" else frame
        return to_pandas(self.kind, self.data)

    def verify(self) -> None:
        """Check that this result was posted on behalf of the stack owner by an executor
        authorised in the execution's release (per the manifest the connection was found by),
        with a valid signature, and that its data is the stored file. Raises
        :class:`UntrustedDeployment` saying what does not hold, or when the connection was not
        made from a manifest (``Fishnet.connect`` / ``from_stack``).

        >>> result.verify()
        """
        if self._reference is None:
            raise UntrustedDeployment("verify() needs a connection made by connect() or "
                                      "from_stack(): the manifest is the reference")
        self.verify_against(*self._reference)

    def verify_against(self, node: NodeReader, owner: str, manifest: Manifest) -> None:
        """:meth:`verify` against an explicit node, owner and manifest."""
        if self.result_id is None:
            raise UntrustedDeployment(f"execution {self.execution_id} has no result record")
        found = node.message(self.result_id)
        if found is None or found.get("status") != "processed":
            raise UntrustedDeployment(f"result {self.result_id} is not on the network")
        message = found["message"]
        content = message.get("content") or {}
        sender = str(message.get("sender", ""))
        buffer = aleph_verification_buffer(message["chain"], sender, message["type"],
                                           message["item_hash"])
        if not verify_text(str(message.get("signature", "")), sender, buffer):
            raise UntrustedDeployment(f"result {self.result_id}: the signature is not its "
                                      "sender's")
        if str(content.get("address", "")).lower() != owner.lower():
            raise UntrustedDeployment(f"result {self.result_id} was not posted for {owner}")
        release = manifest.releases.get(int(self.execution.get("release") or -1))
        authorised = {a.lower() for a in release.authorized} if release is not None else set()
        if sender.lower() not in authorised or sender.lower() not in owner_delegates(
                node, owner):
            raise UntrustedDeployment(
                f"result {self.result_id} was posted by {sender}, which is not an executor "
                f"authorised in release {self.execution.get('release')}")
        if self.data_hash:
            stored = node.download(self.data_hash)
            if stored is None or hashlib.sha256(stored).hexdigest() != self.data_hash:
                raise UntrustedDeployment(f"result data {self.data_hash} is missing or altered")
            if self._parquet is not None and self._parquet != stored:
                raise UntrustedDeployment("the API served result bytes that differ from the "
                                          "stored result")

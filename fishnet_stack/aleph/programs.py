"""PROGRAM content built directly (pinned code), and STORE uploads of already-signed messages.

aleph-sdk's ``make_program_content`` hard-codes ``code.use_latest: true``; fishnet-stack pins
every program to the exact code it was planned with, so :func:`program_content` builds the
content itself and validates it with aleph-message's ``ProgramContent``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aleph.sdk.conf import settings
from aleph_message.models.execution.program import ProgramContent
from pydantic import ValidationError

from fishnet_stack.aleph.client import AlephClient, SignedMessage
from fishnet_stack.errors import ConfigError, MessageRejected, NodeUnavailable

__all__ = ["DEFAULT_RUNTIME", "VolumeSpec", "program_content", "push_file"]

DEFAULT_RUNTIME = str(settings.DEFAULT_RUNTIME_ID)
VolumeSpec = Mapping[str, Any]


def program_content(
    *, owner: str, code_ref: str, encoding: str, entrypoint: str, vcpus: int, memory: int,
    seconds: int, variables: Mapping[str, str], volumes: Sequence[VolumeSpec],
    subscriptions: Sequence[Mapping[str, Any]] | None, metadata: Mapping[str, Any],
    persistent: bool = True, internet: bool = True, runtime: str = DEFAULT_RUNTIME,
) -> dict[str, Any]:
    """A PROGRAM content dict (``allow_amend: false``, ``code.use_latest: false``), validated.

    Raises :class:`ConfigError` with aleph-message's reason when a field is out of range.
    """
    raw = {
        "type": "vm-function", "address": owner, "time": 0.0, "allow_amend": False,
        "metadata": dict(metadata),
        "code": {"encoding": encoding, "entrypoint": entrypoint, "ref": code_ref,
                 "use_latest": False},
        "runtime": {"ref": runtime, "use_latest": False, "comment": "Official aleph.im runtime"
                    if runtime == DEFAULT_RUNTIME else ""},
        "on": {"http": True, "persistent": persistent,
               "message": [dict(s) for s in subscriptions] if subscriptions else None},
        "environment": {"reproducible": False, "internet": internet, "aleph_api": True,
                        "shared_cache": False},
        "resources": {"vcpus": vcpus, "memory": memory, "seconds": seconds},
        "variables": dict(variables),
        "volumes": [dict(v) for v in volumes],
        "authorized_keys": [],
        "payment": {"chain": "ETH", "type": "hold", "receiver": None},
    }
    try:
        parsed = ProgramContent.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"invalid PROGRAM content: {exc}") from exc
    content: dict[str, Any] = json.loads(parsed.model_dump_json(exclude_none=True))
    content.pop("time", None)  # AlephClient.sign stamps the signing time
    return content


async def push_file(client: AlephClient, signed: SignedMessage, data: bytes) -> None:
    """Upload ``data`` with its already-signed STORE (multipart ``add_file``), then send the
    message. Idempotent: the same file and message may be pushed again after a crash.

    Raises MessageRejected (422) or NodeUnavailable (after retries)."""
    metadata = json.dumps({"message": {**signed.wire, "content": signed.content}, "sync": True})

    async def attempt() -> None:
        response = await client.http.post(
            "/api/v0/storage/add_file",
            files={"metadata": (None, metadata, "application/json"), "file": ("file", data)},
        )
        if response.status_code in (413, 422) or 400 <= response.status_code < 500:
            raise MessageRejected(f"node refused file {signed.content.get('item_hash')}: "
                                  f"HTTP {response.status_code} {response.text[:300]}")
        if response.status_code >= 500:
            raise NodeUnavailable(f"upload failed: HTTP {response.status_code}")

    await client._retry(attempt)
    await client.send(signed)

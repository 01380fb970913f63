"""The VM contract (fishnet_stack.vm): settings, key file, /health and /identity, in-process."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from eth_hash.auto import keccak

from fishnet_stack.aleph.signing import private_key_address
from fishnet_stack.vm import (
    IDENTITY_MOUNT,
    VmConfigError,
    VmContext,
    VmIdentity,
    VmSettings,
    with_contract,
)
from fishnet_stack.vmkeys import address_of_private_key, keccak256, public_key_of

ENV = {"FISHNET_STACK": "s", "FISHNET_CHANNEL": "C", "FISHNET_OWNER": "0xabc",
       "FISHNET_ROLE": "executor", "FISHNET_VERSION": "1.2.3", "FISHNET_RELEASE": "4",
       "FISHNET_SLICE_START": "2020-01-01T00:00:00Z", "FISHNET_SLICE_END": "",
       "ALEPH_API_HOST": "http://node"}


@pytest.mark.parametrize("size", [0, 1, 135, 136, 137, 271, 272, 1000])
def test_keccak_matches_eth_hash(size: int) -> None:
    data = os.urandom(size)
    assert keccak256(data) == keccak(data)


def test_address_matches_coincurve_derivation() -> None:
    for _ in range(5):
        key = os.urandom(32)
        assert address_of_private_key(key) == private_key_address(key)
    with pytest.raises(ValueError):
        public_key_of(b"\x00" * 32)


def test_settings_from_env() -> None:
    settings = VmSettings.from_env({**ENV, "FISHNET_DATA_DIR": "/tmp/x"})
    assert (settings.role, settings.release, settings.version) == ("executor", 4, "1.2.3")
    assert settings.slice_start is not None and settings.slice_start.year == 2020
    assert settings.slice_end is None
    assert settings.data_dir == Path("/tmp/x")
    assert VmSettings.from_env(ENV).data_dir == Path(IDENTITY_MOUNT)


@pytest.mark.parametrize("change", [{"FISHNET_ROLE": "cook"}, {"FISHNET_RELEASE": "x"},
                                    {"FISHNET_SLICE_END": "tomorrow"}])
def test_bad_settings_name_the_variable(change: dict[str, str]) -> None:
    with pytest.raises(VmConfigError, match=next(iter(change))):
        VmSettings.from_env({**ENV, **change})


def test_key_is_created_0600_and_reused(tmp_path: Path) -> None:
    first = VmIdentity.load_or_create(tmp_path / "data")
    key_file = tmp_path / "data" / "key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = VmIdentity.load_or_create(tmp_path / "data")
    assert again.address == first.address and again.public_key == first.public_key
    assert first.address == private_key_address(first.private_key)
    assert "private_key" not in repr(first)


def test_corrupt_key_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("nonsense")
    with pytest.raises(VmConfigError, match="does not hold"):
        VmIdentity.load_or_create(tmp_path)


async def _call(app: Any, path: str, method: str = "GET") -> tuple[int, Any]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "path": path, "method": method}, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body) if body else None


def test_contract_serves_health_and_identity_and_passes_the_rest(tmp_path: Path) -> None:
    context = VmContext.from_env({**ENV, "FISHNET_DATA_DIR": str(tmp_path)})
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = with_contract(inner, context, tree_hash="t" * 64)
    status, health = asyncio.run(_call(app, "/health"))
    assert status == 200
    assert health == {"status": "ok", "role": "executor", "version": "1.2.3", "release": 4,
                      "tree_hash": "t" * 64}
    status, identity = asyncio.run(_call(app, "/identity"))
    assert identity == {"address": context.identity.address,
                        "public_key": context.identity.public_key}
    assert identity["public_key"].startswith("04") and len(identity["public_key"]) == 130
    assert asyncio.run(_call(app, "/other"))[0] == 404
    assert asyncio.run(_call(app, "/health", "POST"))[0] == 404
    assert seen == ["/other", "/health"]

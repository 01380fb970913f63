"""The VM contract both apps follow (DESIGN section 5). Standard library only.

Interface for app authors::

    from fishnet_stack.vm import VmContext, with_contract

    def create_app(context: VmContext) -> ASGIApp: ...      # the app package's factory

    # the entrypoint that `fishnet_stack.build` renders into every code archive does:
    context = VmContext.from_env()                 # settings (read once) + the VM's key
    app = with_contract(create_app(context), context, tree_hash=TREE_HASH)

- :class:`VmSettings` ``.from_env(environ)``: ``FISHNET_STACK``, ``FISHNET_CHANNEL``,
  ``FISHNET_OWNER``, ``FISHNET_ROLE`` (``api`` | ``executor``), ``FISHNET_VERSION``,
  ``FISHNET_RELEASE`` (the release that created this program), ``FISHNET_SLICE_START`` /
  ``FISHNET_SLICE_END`` (executors; empty = open end), ``FISHNET_DATA_DIR`` (default: the mount of
  the ``identity`` volume, :data:`IDENTITY_MOUNT`) and ``ALEPH_API_HOST``. Raises
  :class:`VmConfigError` naming the variable when one is malformed.
- :class:`VmIdentity` ``.load_or_create(data_dir)``: the key lives in ``$FISHNET_DATA_DIR/key``
  (``0x`` + 64 hex, mode 0600), created on first start and reused afterwards.
- :func:`health_payload` / :func:`identity_payload`: the JSON of ``GET /health``
  (``status, role, version, release, tree_hash``) and ``GET /identity`` (``address``,
  ``public_key``: uncompressed secp256k1, hex).
- :func:`with_contract`: wraps any ASGI app (FastAPI, Starlette, a bare coroutine) so that
  ``GET /health`` and ``GET /identity`` are answered before the app sees the request; every
  other scope (lifespan, ``aleph.message``, other paths) goes to the app unchanged. An app with
  a ``health_extra`` attribute (a callable returning a dict) adds its keys to ``/health``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fishnet_stack.errors import ConfigError
from fishnet_stack.vmkeys import address_of_private_key, is_valid_private_key, public_key_of

__all__ = [
    "IDENTITY_MOUNT", "KEY_FILE", "ROLES", "ASGIApp", "Message", "Receive", "Scope", "Send",
    "VmConfigError", "VmContext", "VmIdentity", "VmSettings", "health_payload",
    "identity_payload", "with_contract",
]

IDENTITY_MOUNT = "/var/lib/fishnet"  # where PROGRAMs mount their persistent `identity` volume
KEY_FILE = "key"
ROLES = ("api", "executor")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class VmConfigError(ConfigError):
    """A VM setting (environment variable) is missing or malformed."""


def _instant(name: str, raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise VmConfigError(f"{name}={raw!r} is not an ISO 8601 time") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class VmSettings:
    """A VM's settings, read once from its environment (PROGRAM ``variables``)."""

    stack: str
    channel: str
    owner: str
    role: str
    version: str
    release: int
    slice_start: datetime | None
    slice_end: datetime | None
    data_dir: Path
    aleph_api: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> VmSettings:
        """Settings from ``environ`` (default ``os.environ``); raises :class:`VmConfigError`."""
        env = os.environ if environ is None else environ
        role = env.get("FISHNET_ROLE", "")
        if role not in ROLES:
            raise VmConfigError(f"FISHNET_ROLE={role!r}; expected one of {', '.join(ROLES)}")
        raw_release = env.get("FISHNET_RELEASE", "0") or "0"
        if not raw_release.isdigit():
            raise VmConfigError(f"FISHNET_RELEASE={raw_release!r} is not a release number")
        return cls(
            stack=env.get("FISHNET_STACK", ""), channel=env.get("FISHNET_CHANNEL", ""),
            owner=env.get("FISHNET_OWNER", ""), role=role,
            version=env.get("FISHNET_VERSION", ""), release=int(raw_release),
            slice_start=_instant("FISHNET_SLICE_START", env.get("FISHNET_SLICE_START", "")),
            slice_end=_instant("FISHNET_SLICE_END", env.get("FISHNET_SLICE_END", "")),
            data_dir=Path(env.get("FISHNET_DATA_DIR") or IDENTITY_MOUNT),
            aleph_api=env.get("ALEPH_API_HOST", ""),
        )


@dataclass(frozen=True)
class VmIdentity:
    """The VM's own key pair; the private key never leaves this object's ``private_key``."""

    private_key: bytes = field(repr=False)
    address: str
    public_key: str

    @classmethod
    def from_private_key(cls, key: bytes) -> VmIdentity:
        return cls(key, address_of_private_key(key), public_key_of(key).hex())

    @classmethod
    def load_or_create(cls, data_dir: Path) -> VmIdentity:
        """The key in ``data_dir/key``, created (0600, never overwritten) when absent.

        Raises :class:`VmConfigError` when the directory is unusable or the file holds no key.
        """
        path = data_dir / KEY_FILE
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                text = path.read_text().strip()
            else:
                key = os.urandom(32)
                while not is_valid_private_key(key):
                    key = os.urandom(32)
                text = "0x" + key.hex()
                with os.fdopen(fd, "w") as handle:
                    handle.write(text + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
        except OSError as exc:
            raise VmConfigError(f"cannot create or read the VM key {path}: {exc}") from exc
        try:
            key = bytes.fromhex(text.removeprefix("0x"))
        except ValueError as exc:
            raise VmConfigError(f"{path} does not hold a hex private key") from exc
        if not is_valid_private_key(key):
            raise VmConfigError(f"{path} does not hold a secp256k1 private key")
        return cls.from_private_key(key)


@dataclass(frozen=True)
class VmContext:
    """What an app gets at start: its settings and its identity."""

    settings: VmSettings
    identity: VmIdentity

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> VmContext:
        settings = VmSettings.from_env(environ)
        return cls(settings, VmIdentity.load_or_create(settings.data_dir))


def health_payload(settings: VmSettings, tree_hash: str) -> dict[str, Any]:
    """``GET /health``: ``{"status": "ok", "role", "version", "release", "tree_hash"}``."""
    return {"status": "ok", "role": settings.role, "version": settings.version,
            "release": settings.release, "tree_hash": tree_hash}


def identity_payload(identity: VmIdentity) -> dict[str, str]:
    """``GET /identity``: ``{"address", "public_key"}``."""
    return {"address": identity.address, "public_key": identity.public_key}


def with_contract(app: ASGIApp, context: VmContext, tree_hash: str) -> ASGIApp:
    """``app`` with ``GET /health`` and ``GET /identity`` answered in front of it."""
    # An app may add to /health (the executor reports its sandbox's isolation layers) by
    # carrying a ``health_extra`` callable attribute.
    extra = getattr(app, "health_extra", None)
    routes: dict[str, Callable[[], Mapping[str, Any]]] = {
        "/health": lambda: {**health_payload(context.settings, tree_hash),
                            **(extra() if callable(extra) else {})},
        "/identity": lambda: identity_payload(context.identity),
    }

    async def contract(scope: Scope, receive: Receive, send: Send) -> None:
        route = routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        if route is None or scope.get("method") not in ("GET", "HEAD"):
            await app(scope, receive, send)
            return
        body = json.dumps(route()).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body",
                    "body": b"" if scope["method"] == "HEAD" else body})

    return contract

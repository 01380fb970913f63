"""Ethereum accounts from key files and environment variables.

A key file holds the hex private key (``0x`` + 64 hex digits) and is mode 0600; raw 32-byte files
(what aleph-sdk writes) are read too. Keys never leave this module except as an :class:`Account`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import coincurve

from fishnet_stack.aleph.signing import address_of_public_key, sign_text
from fishnet_stack.errors import ConfigError

__all__ = ["Account", "create_key_file", "load_key_env", "load_key_file"]


@dataclass(frozen=True)
class Account:
    """A secp256k1 key pair and its checksummed Ethereum address."""

    private_key: bytes = field(repr=False)

    @property
    def public_key(self) -> str:
        """Uncompressed public key, hex (``04`` + X + Y)."""
        return str(coincurve.PrivateKey(self.private_key).public_key.format(False).hex())

    @property
    def address(self) -> str:
        return address_of_public_key(bytes.fromhex(self.public_key))

    def sign(self, text: str | bytes) -> str:
        """EIP-191 signature of ``text``, ``0x`` hex."""
        return sign_text(self.private_key, text)

    @classmethod
    def generate(cls) -> Account:
        return cls(os.urandom(32))


def _parse_key(raw: bytes, where: str) -> bytes:
    if len(raw) == 32:
        return raw
    text = raw.decode("ascii", errors="replace").strip()
    hex_part = text.removeprefix("0x")
    if len(hex_part) != 64:
        raise ConfigError(
            f"{where}: not a private key; expected 0x followed by 64 hex digits (or 32 raw bytes)"
        )
    try:
        key = bytes.fromhex(hex_part)
    except ValueError as exc:
        raise ConfigError(f"{where}: private key is not valid hex") from exc
    try:
        coincurve.PrivateKey(key)
    except ValueError as exc:
        raise ConfigError(f"{where}: not a valid secp256k1 private key") from exc
    return key


def load_key_file(path: Path) -> Account:
    """The account whose key is in ``path``.

    Raises :class:`ConfigError` when the file is missing, unreadable, readable by others (mode
    must be 0600: ``chmod 600 FILE``) or does not hold a key.
    """
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: key file not found; create one or point key_file elsewhere"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read key file: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}: key file is accessible by other users (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}"
        )
    return Account(_parse_key(raw, str(path)))


def load_key_env(variable: str) -> Account:
    """The account whose hex key is in environment variable ``variable``."""
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"environment variable {variable} is not set; export the hex private key")
    return Account(_parse_key(value.encode(), f"${variable}"))


def create_key_file(path: Path) -> Account:
    """Create ``path`` (mode 0600, parents as needed) with a new random key.

    Never overwrites: raises :class:`ConfigError` when the file exists.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    account = Account.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigError(f"{path}: already exists; refusing to overwrite a key file") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write("0x" + account.private_key.hex() + "\n")
    return account

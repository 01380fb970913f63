"""Wallets: a researcher's or owner's Ethereum key, kept in a 0600 file or an environment
variable, never sent anywhere (requests carry signatures, not keys)."""

from __future__ import annotations

from pathlib import Path

from fishnet_stack.aleph.accounts import Account, create_key_file, load_key_env, load_key_file

__all__ = ["Wallet"]


class Wallet:
    """An identity that signs Fishnet requests.

    >>> wallet = Wallet.create("~/.fishnet/me.key")     # new key, file mode 0600
    >>> wallet = Wallet.from_file("~/.fishnet/me.key")  # later sessions
    >>> wallet = Wallet.from_env("FISHNET_KEY")         # hex key in an environment variable
    >>> wallet.address
    '0x...'
    """

    def __init__(self, account: Account) -> None:
        self.account = account

    @property
    def address(self) -> str:
        return self.account.address

    def __repr__(self) -> str:
        return f"Wallet({self.address})"

    @classmethod
    def create(cls, path: str | Path) -> Wallet:
        """A new random key saved to ``path`` (0600; never overwrites an existing file)."""
        return cls(create_key_file(Path(path).expanduser()))

    @classmethod
    def from_file(cls, path: str | Path) -> Wallet:
        """The key in ``path`` (hex ``0x...`` or 32 raw bytes; must be mode 0600)."""
        return cls(load_key_file(Path(path).expanduser()))

    @classmethod
    def from_env(cls, variable: str) -> Wallet:
        """The hex key in environment variable ``variable``."""
        return cls(load_key_env(variable))

    @classmethod
    def ephemeral(cls) -> Wallet:
        """A throwaway key that lives only in memory (tests, demos)."""
        return cls(Account.generate())

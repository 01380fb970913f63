"""secp256k1 public keys and Ethereum addresses in pure Python (standard library only).

A VM has only the standard library unless its packages volume brings more, yet it must derive
its address from the key it creates (DESIGN section 5). This module does exactly that much:
scalar multiplication on secp256k1 and Keccak-256 (the pre-standard SHA-3 Ethereum uses, which
``hashlib.sha3_256`` is not). No signing happens here; apps sign with their own libraries.
Results equal :mod:`fishnet_stack.aleph.signing` (tested).
"""

from __future__ import annotations

__all__ = ["address_of_private_key", "is_valid_private_key", "keccak256", "public_key_of"]

_P = 2**256 - 2**32 - 977
_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
      0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)

_RC = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
_ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56],
        [27, 20, 39, 8, 14]]
_MASK = 2**64 - 1


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK if shift else value


def _keccak_f(state: list[list[int]]) -> None:
    for rc in _RC:
        c = [state[x][0] ^ state[x][1] ^ state[x][2] ^ state[x][3] ^ state[x][4]
             for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rotl(c[(x + 1) % 5], 1) for x in range(5)]
        for x in range(5):
            for y in range(5):
                state[x][y] ^= d[x]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rotl(state[x][y], _ROT[x][y])
        for x in range(5):
            for y in range(5):
                state[x][y] = b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y])
        state[0][0] ^= rc


def keccak256(data: bytes) -> bytes:
    """Keccak-256 of ``data`` (Ethereum's hash: padding 0x01, not SHA-3's 0x06)."""
    rate = 136
    room = rate - len(data) % rate
    # Multi-rate padding: 0x01, zeros, 0x80; both bits share one byte when only one is left.
    padded = data + (b"\x81" if room == 1 else b"\x01" + b"\x00" * (room - 2) + b"\x80")
    state = [[0] * 5 for _ in range(5)]
    for offset in range(0, len(padded), rate):
        block = padded[offset:offset + rate]
        for i in range(rate // 8):
            state[i % 5][i // 5] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        _keccak_f(state)
    out = b"".join(state[i % 5][i // 5].to_bytes(8, "little") for i in range(4))
    return out


def _add(p: tuple[int, int] | None, q: tuple[int, int] | None) -> tuple[int, int] | None:
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % _P == 0:
        return None
    if p == q:
        slope = 3 * p[0] * p[0] * pow(2 * p[1], -1, _P)
    else:
        slope = (q[1] - p[1]) * pow(q[0] - p[0], -1, _P)
    x = (slope * slope - p[0] - q[0]) % _P
    return (x, (slope * (p[0] - x) - p[1]) % _P)


def is_valid_private_key(key: bytes) -> bool:
    """Whether ``key`` is 32 bytes encoding an integer in [1, n-1]."""
    return len(key) == 32 and 0 < int.from_bytes(key, "big") < _N


def public_key_of(private_key: bytes) -> bytes:
    """The 65-byte uncompressed public key (``04`` + X + Y); raises ValueError on a bad key."""
    if not is_valid_private_key(private_key):
        raise ValueError("not a secp256k1 private key (32 bytes in [1, n-1])")
    scalar = int.from_bytes(private_key, "big")
    result: tuple[int, int] | None = None
    addend: tuple[int, int] | None = _G
    while scalar:
        if scalar & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        scalar >>= 1
    assert result is not None
    return b"\x04" + result[0].to_bytes(32, "big") + result[1].to_bytes(32, "big")


def address_of_private_key(private_key: bytes) -> str:
    """The EIP-55 checksummed Ethereum address of ``private_key``."""
    raw = keccak256(public_key_of(private_key)[1:])[-20:].hex()
    digest = keccak256(raw.encode()).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(raw))

"""Unpack STORE'd archives (code, immutable volumes) once per file content, into a cache."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import uuid
import zipfile
from pathlib import Path

__all__ = ["ArchiveCache", "ArchiveError", "archive_kind"]

_MAGIC = {b"PK\x03\x04": "zip", b"PK\x05\x06": "zip", b"hsqs": "squashfs"}


class ArchiveError(Exception):
    """An archive is not a zip or squashfs image, or could not be unpacked."""


def archive_kind(path: Path) -> str:
    """``"zip"`` or ``"squashfs"``, from the file's first bytes; raises ArchiveError."""
    try:
        with path.open("rb") as file:
            head = file.read(4)
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc}") from exc
    kind = _MAGIC.get(head)
    if kind is None:
        raise ArchiveError(f"{path.name} is neither a zip archive nor a squashfs image "
                           f"(starts with {head!r})")
    return kind


class ArchiveCache:
    """Unpacked archives as directories ``root/<sha256 of the archive>``.

    A directory appears atomically (unpacked aside, then renamed), so a present one is
    complete; concurrent requests for the same archive unpack it once. Directories are kept
    for the life of the data directory and must be treated as read-only.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._locks: dict[str, asyncio.Lock] = {}
        self._digests: dict[tuple[str, int, int], str] = {}

    async def unpack(self, path: Path, expected: str | None = None) -> Path:
        """The directory holding the contents of the archive at ``path``.

        ``expected`` (``"zip"``/``"squashfs"``), when given, must match the file's kind.
        Raises ArchiveError with the reason (unreadable, wrong kind, unsquashfs failure).
        """
        kind = archive_kind(path)
        if expected is not None and kind != expected:
            raise ArchiveError(f"the encoding says {expected} but {path.name} is a {kind}")
        digest = await self._digest(path)
        target = self._root / digest
        lock = self._locks.setdefault(digest, asyncio.Lock())
        async with lock:
            if target.is_dir():
                return target
            self._root.mkdir(parents=True, exist_ok=True)
            scratch = self._root / f".{digest}.{uuid.uuid4().hex}"
            try:
                if kind == "zip":
                    await asyncio.to_thread(_unzip, path, scratch)
                else:
                    await _unsquash(path, scratch)
                os.rename(scratch, target)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        return target

    async def _digest(self, path: Path) -> str:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._digests:
            self._digests[key] = await asyncio.to_thread(_sha256, path)
        return self._digests[key]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _unzip(path: Path, target: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                written = archive.extract(info, target)
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():  # zipfile drops unix modes (exec bits)
                    os.chmod(written, mode)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveError(f"cannot unzip {path.name}: {exc}") from exc
    target.mkdir(exist_ok=True)  # an empty zip is an empty directory


async def _unsquash(path: Path, target: Path) -> None:
    try:
        process = await asyncio.create_subprocess_exec(
            "unsquashfs", "-no-progress", "-no-xattrs", "-d", str(target), str(path),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except OSError as exc:
        raise ArchiveError(f"cannot run unsquashfs ({exc}); install squashfs-tools") from exc
    output, _ = await process.communicate()
    if process.returncode != 0:
        tail = output.decode(errors="replace").strip().splitlines()[-3:]
        raise ArchiveError(f"unsquashfs failed on {path.name}: {' / '.join(tail)}")

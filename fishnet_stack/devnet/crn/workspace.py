"""The compute node's files, and what one boot needs from them.

Layout under ``<data_dir>/crn/``: ``runtime/`` (the harness copy VMs import), ``cache/``
(unpacked archives), ``volumes/<program>/<name>`` (persistent volumes), ``ephemeral/<boot>/``
(the ephemeral volumes of one boot), ``logs/<program>.log``. Sockets live in a short temporary
directory (Unix socket paths are limited to ~107 bytes), removed by :meth:`Workspace.close`.
Every boot gets its own socket names and ephemeral directory, so a VM that is still draining
never shares anything with its successor.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
from pathlib import Path

from fishnet_stack.devnet import runtime as runtime_package
from fishnet_stack.devnet.crn.archives import ArchiveCache, ArchiveError
from fishnet_stack.devnet.crn.process import BootError, Launch
from fishnet_stack.devnet.crn.program import (
    CODE_MOUNT,
    PACKAGES_MOUNT,
    EphemeralVolume,
    ImmutableVolume,
    PersistentVolume,
    ProgramSpec,
)
from fishnet_stack.devnet.crn.source import ProgramSource
from fishnet_stack.devnet.runtime.spec import RUNTIME_PACKAGE, Mount

__all__ = ["Workspace"]

_INHERITED_ENV = ("PATH", "LANG")


def _safe(item_hash: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", item_hash)


class Workspace:
    """Paths and preparation for the VMs of one compute node. Call :meth:`open` first."""

    def __init__(self, data_dir: Path, node_url: str) -> None:
        self.root = data_dir.resolve() / "crn"
        self._node_url = node_url
        self._archives = ArchiveCache(self.root / "cache")
        self._sockets: Path | None = None
        self._boots = itertools.count(1)

    def open(self) -> None:
        """Create the directories, clear leftover ephemeral volumes and (re)write the runtime
        harness copy, once; later calls do nothing until :meth:`close`."""
        if self._sockets is not None:
            return
        shutil.rmtree(self.root / "ephemeral", ignore_errors=True)
        for sub in ("logs", "volumes", "ephemeral", "cache"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        source = Path(runtime_package.__file__).parent
        target = self.runtime_dir / RUNTIME_PACKAGE
        target.mkdir(parents=True, exist_ok=True)
        for module in source.glob("*.py"):
            shutil.copyfile(module, target / module.name)
        self._sockets = Path(tempfile.mkdtemp(prefix="fishnet-crn-"))

    def close(self) -> None:
        """Remove the socket directory (call once no VM runs)."""
        if self._sockets is not None:
            shutil.rmtree(self._sockets, ignore_errors=True)
            self._sockets = None

    @property
    def runtime_dir(self) -> Path:
        return self.root / "runtime"

    def log_path(self, item_hash: str) -> Path:
        return self.root / "logs" / f"{_safe(item_hash)}.log"

    def discard(self, launch: Launch) -> None:
        """Remove what :meth:`prepare` made for one boot only (its ephemeral volumes)."""
        shutil.rmtree(launch.scratch, ignore_errors=True)

    async def prepare(self, item_hash: str, spec: ProgramSpec, source: ProgramSource) -> Launch:
        """Unpack the code and immutable volumes, create the other volumes, build the
        environment. Raises BootError naming the missing or unusable piece."""
        self.open()
        assert self._sockets is not None
        boot = next(self._boots)
        scratch = self.root / "ephemeral" / str(boot)
        code_dir = await self._unpack(source, spec.code_ref, spec.code_use_latest, "code",
                                      spec.code_encoding)
        mounts = [Mount(str(code_dir), CODE_MOUNT, read_only=True)]
        sys_path = [CODE_MOUNT]
        try:
            for index, volume in enumerate(spec.volumes):
                if isinstance(volume, ImmutableVolume):
                    where = await self._unpack(source, volume.ref, volume.use_latest,
                                               f"volume {volume.mount}", None)
                    mounts.append(Mount(str(where), volume.mount, read_only=True))
                    if volume.mount == PACKAGES_MOUNT:
                        sys_path.append(PACKAGES_MOUNT)
                    continue
                if isinstance(volume, PersistentVolume):
                    where = self.root / "volumes" / _safe(item_hash) / volume.name
                else:
                    assert isinstance(volume, EphemeralVolume)
                    where = scratch / str(index)
                where.mkdir(parents=True, exist_ok=True)
                mounts.append(Mount(str(where), volume.mount, read_only=False))
        except OSError as exc:
            raise BootError(f"cannot create a volume directory: {exc}") from exc
        env = {name: os.environ[name] for name in _INHERITED_ENV if name in os.environ}
        env.update(spec.variables)
        env.update(ALEPH_API_HOST=self._node_url, PYTHONDONTWRITEBYTECODE="1",
                   PYTHONUNBUFFERED="1")
        return Launch(
            item_hash=item_hash, entrypoint=spec.entrypoint, mounts=tuple(mounts),
            sys_path=tuple(sys_path), env=env, runtime_dir=self.runtime_dir,
            log_path=self.log_path(item_hash), http_socket=self._sockets / f"vm{boot}.sock",
            events_socket=self._sockets / f"vm{boot}.events.sock", scratch=scratch,
        )

    async def _unpack(
        self, source: ProgramSource, ref: str, use_latest: bool, what: str, encoding: str | None
    ) -> Path:
        path = source.store_file(ref, use_latest)
        if path is None:
            raise BootError(f"{what}: STORE {ref} or its file is unknown or forgotten")
        try:
            return await self._archives.unpack(path, encoding)
        except (ArchiveError, OSError) as exc:
            raise BootError(f"{what} (STORE {ref}): {exc}") from exc

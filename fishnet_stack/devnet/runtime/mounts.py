"""Give the VM process its own mount namespace and bind its code and volumes into it (Linux)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence

from .spec import Mount

__all__ = ["IsolationError", "apply_mounts", "exit_with_parent"]

CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_PDEATHSIG = 1


class IsolationError(Exception):
    """The VM's mounts could not be set up; the message says why and what to do."""


def _libc() -> ctypes.CDLL:
    if not sys.platform.startswith("linux"):
        raise IsolationError(
            f"devnet VMs need Linux mount namespaces; this is {sys.platform}. "
            "Run the devnet on Linux (or in a Linux container) as root."
        )
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                           ctypes.c_ulong, ctypes.c_void_p]
    libc.unshare.argtypes = [ctypes.c_int]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        hint = ""
        if errno in (1, 13):  # EPERM, EACCES
            hint = (" - the devnet compute node needs root (CAP_SYS_ADMIN) to mount a VM's "
                    "code and volumes; run the devnet as root, e.g. in a container")
        raise IsolationError(f"{what} failed: {os.strerror(errno)}{hint}")


def apply_mounts(mounts: Sequence[Mount]) -> None:
    """Enter a private mount namespace and bind every mount, parents before children.

    Missing mount points are created (on the host filesystem: directories are not namespaced).
    Read-only mounts are remounted read-only. Raises IsolationError; the process is then in an
    unknown mount state and must exit.
    """
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    # Without this, our binds would propagate back to the host's mount table.
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "making / private")
    for mount in sorted(mounts, key=lambda m: m.target.count("/")):
        try:
            os.makedirs(mount.target, exist_ok=True)
        except OSError as exc:
            raise IsolationError(f"cannot create mount point {mount.target}: {exc}") from exc
        source, target = os.fsencode(mount.source), os.fsencode(mount.target)
        _check(libc.mount(source, target, None, MS_BIND | MS_REC, None),
               f"bind-mounting {mount.source} at {mount.target}")
        if mount.read_only:
            _check(libc.mount(b"none", target, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None),
                   f"making {mount.target} read-only")


def exit_with_parent(parent_pid: int) -> None:
    """Ask the kernel to SIGTERM us when the compute node dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:
        raise SystemExit(0)

"""The isolation layers a sandboxed child applies to itself, right after fork (DESIGN section 8).

Each layer either applies or reports why it could not (another kernel, no privileges); the run
records which were active and never pretends. Order matters: namespaces and mounts need
privileges that ``no_new_privs`` and seccomp then take away for good.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyseccomp

from executor_app.sandbox.limits import Limits

__all__ = ["Isolation", "isolate"]

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x2, 0x4, 0x8
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

# Calls refused outright with EPERM (DESIGN section 8's list).
DENIED_SYSCALLS = (
    "execve", "execveat", "mount", "umount2", "unshare", "setns", "ptrace",
    "process_vm_readv", "process_vm_writev", "open_by_handle_at", "name_to_handle_at", "bpf",
    "perf_event_open", "keyctl", "add_key", "request_key", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "pivot_root", "chroot", "tkill",
    "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "userfaultfd", "swapon", "swapoff", "reboot", "acct",
)


@dataclass
class Isolation:
    """Which layers are active, and why the others are not."""

    active: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _close_fds(keep: Iterable[int]) -> None:
    kept = sorted(set(keep))
    low = 3
    for fd in kept + [os.sysconf("SC_OPEN_MAX")]:
        if fd >= low:
            os.closerange(low, fd)
        low = max(low, fd + 1)


def _namespaces(libc: ctypes.CDLL, hidden: Iterable[str], state: Isolation) -> None:
    try:
        _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
        _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate")
    except OSError as exc:
        state.unavailable["namespaces"] = str(exc)
        return
    state.active += ["mount-namespace", "network-namespace"]
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    for path in [*hidden, "/proc"]:
        if not os.path.isdir(path):
            continue
        try:
            _check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", flags, b"size=1m,mode=0700"),
                   f"mount tmpfs on {path}")
            state.active.append(f"hidden:{path}")
        except OSError as exc:
            state.unavailable[f"hidden:{path}"] = str(exc)


def _rlimits(limits: Limits, state: Isolation) -> None:
    with open("/proc/self/statm") as statm:  # read before /proc is hidden
        mapped = int(statm.read().split()[0]) * resource.getpagesize()
    address_space = mapped + limits.memory_bytes
    # CPU: SIGXCPU at the soft limit (a clear reason), SIGKILL one second later.
    for name, soft, hard in (
        (resource.RLIMIT_AS, address_space, address_space),
        (resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1),
        (resource.RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes),
        (resource.RLIMIT_CORE, 0, 0),
    ):
        resource.setrlimit(name, (soft, hard))
    state.active.append("rlimits")


def _seccomp(state: Isolation) -> None:
    own = os.getpid()
    eperm = pyseccomp.ERRNO(errno.EPERM)
    rules = pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        try:
            rules.add_rule(eperm, name)
        except (OSError, ValueError, RuntimeError):
            continue  # not a syscall on this architecture
    rules.add_rule(eperm, "socket", pyseccomp.Arg(0, pyseccomp.NE, socket.AF_UNIX))
    rules.add_rule(eperm, "kill", pyseccomp.Arg(0, pyseccomp.NE, own))
    rules.add_rule(eperm, "tgkill", pyseccomp.Arg(0, pyseccomp.NE, own))
    rules.load()
    state.active.append("seccomp")


def isolate(*, hidden: Iterable[str], keep_fds: Iterable[int], limits: Limits) -> Isolation:
    """Confine the calling (freshly forked, single-threaded) process for good.

    Hides ``hidden`` directories and ``/proc`` behind empty tmpfs mounts in a private mount
    namespace, cuts the network (empty network namespace), closes every fd but 0-2 and
    ``keep_fds``, scrubs the environment, sets rlimits, forbids new privileges and loads the
    seccomp filter. Layers that fail are reported in the result; the caller decides.
    """
    state = Isolation()
    libc = _libc()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _close_fds(keep_fds)
    state.active.append("fds-closed")
    os.environ.clear()
    os.environ.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "TZ": "UTC"})
    state.active.append("env-scrubbed")
    _rlimits(limits, state)
    _namespaces(libc, hidden, state)
    try:
        _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
        state.active.append("no-new-privs")
        _seccomp(state)
    except (OSError, RuntimeError) as exc:
        state.unavailable["seccomp"] = str(exc)
    return state

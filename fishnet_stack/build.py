"""App code -> deterministic code archive; requirements -> packages volume (DESIGN 4.1).

- :func:`build_code` packs an app package, the ``fishnet_stack`` modules it imports (followed
  transitively through ``import`` statements) and the entrypoint rendered from
  ``templates/entrypoint.py.j2`` into a zip (or squashfs). Code only: nothing per program.
  Same tree -> same bytes -> same hash, whatever the mtimes, umask or directory order: entries are
  sorted, timestamps fixed to 1980-01-01, modes normalised to 0644/0755.
- The **tree hash** is the sha256 of the sorted ``path, mode, sha256(content)`` listing of every
  file except the entrypoint, which embeds it (``/health`` reports it).
- :func:`build_packages` runs ``pip install --target`` on a requirements file once per lock hash
  (requirements bytes + Python version + machine) and caches the squashfs image under
  ``cache_dir``; a cached image is reused as is.

Failures raise :class:`~fishnet_stack.errors.ConfigError` (missing app, unreadable file, pip or
mksquashfs failing), with the tool's last lines.
"""

from __future__ import annotations

import ast
import hashlib
import io
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

import fishnet_stack
from fishnet_stack.errors import ConfigError

__all__ = [
    "ENTRYPOINT", "AppSource", "CodeArchive", "PackagesVolume", "build_code", "build_packages",
    "collect_files", "lock_hash", "squashfs_image", "tree_hash",
]

ENTRYPOINT = "fishnet_entry:app"
_ENTRY_FILE = "fishnet_entry.py"
_PACKAGE_ROOT = Path(fishnet_stack.__file__).resolve().parent
TEMPLATES = _PACKAGE_ROOT.parent / "templates"
_SKIP_DIRS = {"__pycache__", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_EPOCH = (1980, 1, 1, 0, 0, 0)
SQUASHFS_FLAGS = ("-noappend", "-all-root", "-mkfs-time", "0", "-all-time", "0",
                  "-no-xattrs", "-quiet", "-no-progress")


@dataclass(frozen=True)
class AppSource:
    """An app to build: its package directory, ``module:function`` factory, requirements."""

    package: Path
    factory: str
    requirements: Path | None = None


@dataclass(frozen=True)
class CodeArchive:
    """A built code archive: ``data`` (its bytes), ``file_hash`` = sha256(data)."""

    tree_hash: str
    data: bytes
    encoding: str
    entries: tuple[str, ...]

    @property
    def file_hash(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class PackagesVolume:
    """A squashfs image of installed packages, cached at ``path``."""

    lock_hash: str
    path: Path

    @property
    def file_hash(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def _mode(path: Path) -> int:
    return 0o755 if os.access(path, os.X_OK) and path.suffix != ".py" else 0o644


def _package_files(root: Path, prefix: str) -> dict[str, tuple[int, bytes]]:
    files: dict[str, tuple[int, bytes]] = {}
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            files[f"{prefix}/{relative}"] = (_mode(path), _read(path))
    return files


def _imported_fishnet_modules(source: bytes, module: str) -> set[str]:
    """Dotted ``fishnet_stack`` modules (or names in them) that ``source`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "fishnet_stack")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: -node.level]
                base = ".".join([*parts, base] if base else parts)
            if base.split(".")[0] == "fishnet_stack":
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
    return found


def _module_file(dotted: str) -> tuple[str, Path] | None:
    relative = Path(*dotted.split(".")[1:])
    for candidate in (_PACKAGE_ROOT / relative / "__init__.py",
                      _PACKAGE_ROOT / relative.with_suffix(".py") if relative.parts else None):
        if candidate is not None and candidate.is_file():
            return dotted, candidate
    return None


def _fishnet_closure(app_files: dict[str, tuple[int, bytes]]) -> dict[str, tuple[int, bytes]]:
    """The ``fishnet_stack`` files the app needs: imports followed transitively, plus the
    ``__init__.py`` of every package on the way."""
    pending: list[str] = []
    for path, (_, content) in app_files.items():
        if path.endswith(".py"):
            pending.extend(_imported_fishnet_modules(content, path[:-3].replace("/", ".")))
    pending.append("fishnet_stack.vm")  # the rendered entrypoint imports it
    out: dict[str, tuple[int, bytes]] = {}
    seen: set[str] = set()
    while pending:
        dotted = pending.pop()
        parts = dotted.split(".")
        for end in range(1, len(parts) + 1):  # parent packages first
            name = ".".join(parts[:end])
            if name in seen:
                continue
            seen.add(name)
            found = _module_file(name)
            if found is None:
                continue  # a name defined inside a module, not a module
            file = found[1]
            archive_path = "fishnet_stack/" + file.relative_to(_PACKAGE_ROOT).as_posix()
            content = _read(file)
            out[archive_path] = (0o644, content)
            module = name if file.name != "__init__.py" else f"{name}.__init__"
            pending.extend(_imported_fishnet_modules(content, module))
    return out


def collect_files(app: AppSource) -> dict[str, tuple[int, bytes]]:
    """Every file of the archive except the entrypoint: archive path -> (mode, content)."""
    if not (app.package / "__init__.py").is_file():
        raise ConfigError(f"{app.package}: not a Python package (no __init__.py)")
    files = _package_files(app.package, app.package.name)
    files.update(_fishnet_closure(files))
    return dict(sorted(files.items()))


def tree_hash(files: dict[str, tuple[int, bytes]]) -> str:
    """sha256 of the sorted listing ``path NUL mode NUL sha256(content)`` of ``files``."""
    listing = hashlib.sha256()
    for path in sorted(files):
        mode, content = files[path]
        listing.update(f"{path}\0{mode:o}\0{hashlib.sha256(content).hexdigest()}\n".encode())
    return listing.hexdigest()


def _render_entrypoint(factory: str, digest: str) -> bytes:
    module, function = factory.split(":")
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                     undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        template = environment.get_template("entrypoint.py.j2")
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"{TEMPLATES}/entrypoint.py.j2 is missing") from exc
    return template.render(module=module, function=function, factory=factory,
                           tree_hash=digest).encode()


def _zip(files: dict[str, tuple[int, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(files):
            mode, content = files[path]
            info = zipfile.ZipInfo(path, date_time=_EPOCH)
            info.create_system = 3
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content, compresslevel=9)
    return buffer.getvalue()


def squashfs_image(source_dir: Path, image: Path) -> None:
    """``mksquashfs`` with fixed owners and times (reproducible); raises ConfigError."""
    if shutil.which("mksquashfs") is None:
        raise ConfigError("mksquashfs is not installed; install squashfs-tools")
    result = subprocess.run(["mksquashfs", str(source_dir), str(image), *SQUASHFS_FLAGS],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = " / ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise ConfigError(f"mksquashfs failed: {tail}")


def _squashfs(files: dict[str, tuple[int, bytes]]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="fishnet-build-") as scratch:
        root = Path(scratch) / "tree"
        for path in sorted(files):
            mode, content = files[path]
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            os.chmod(target, mode)
        for directory in sorted({p for p in root.rglob("*") if p.is_dir()} | {root}):
            os.chmod(directory, 0o755)
        image = Path(scratch) / "code.squashfs"
        squashfs_image(root, image)
        return image.read_bytes()


def build_code(app: AppSource, encoding: str = "zip") -> CodeArchive:
    """Build ``app``'s code archive (``encoding``: ``zip`` or ``squashfs``); deterministic."""
    files = collect_files(app)
    digest = tree_hash(files)
    entry = _render_entrypoint(app.factory, digest)
    everything = {**files, _ENTRY_FILE: (0o644, entry)}
    data = _zip(everything) if encoding == "zip" else _squashfs(everything)
    return CodeArchive(tree_hash=digest, data=data, encoding=encoding,
                       entries=tuple(sorted(everything)))


def lock_hash(requirements: Path) -> str:
    """Identity of a packages volume: requirements bytes, Python version and machine."""
    tag = f"{sys.version_info.major}.{sys.version_info.minor}-{platform.machine()}\n"
    return hashlib.sha256(tag.encode() + _read(requirements)).hexdigest()


def build_packages(requirements: Path, cache_dir: Path) -> PackagesVolume:
    """The packages volume of ``requirements``, built once per :func:`lock_hash` and cached
    as ``cache_dir/packages-<lock hash>.squashfs``. Raises ConfigError when pip fails."""
    digest = lock_hash(requirements)
    image = cache_dir / f"packages-{digest}.squashfs"
    if image.is_file():
        return PackagesVolume(digest, image)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fishnet-packages-", dir=cache_dir) as scratch:
        target = Path(scratch) / "site"
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
             "--disable-pip-version-check", "--target", str(target), "-r", str(requirements)],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            tail = " / ".join(result.stderr.strip().splitlines()[-3:])
            raise ConfigError(f"pip install -r {requirements} failed: {tail}")
        for cache in sorted(target.rglob("__pycache__"), reverse=True):
            shutil.rmtree(cache, ignore_errors=True)
        partial = Path(scratch) / "image.squashfs"
        squashfs_image(target, partial)
        os.replace(partial, image)
    return PackagesVolume(digest, image)

"""Builds are deterministic: same tree -> same bytes -> same hash, whatever the mtimes, umask
or file order; and the archive holds exactly the code the app needs."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from fishnet_stack.build import AppSource, build_code, collect_files, tree_hash
from tests.deploy.conftest import FIXTURE_APP, ROOT

EXTRA = {"helpers/__init__.py": "", "helpers/maths.py": "def double(x):\n    return 2 * x\n",
         "data/table.csv": "a,b\n1,2\n"}


def copy_app(target: Path, *, umask: int, mtime: float, reverse: bool) -> AppSource:
    """The fixture app plus a few files, written in a chosen order, umask and mtime."""
    files = {p.relative_to(FIXTURE_APP).as_posix(): p.read_text()
             for p in FIXTURE_APP.rglob("*.py") if "__pycache__" not in p.parts}
    files.update(EXTRA)
    old = os.umask(umask)
    try:
        for name in sorted(files, reverse=reverse):
            path = target / "fixture_app" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[name])
            os.utime(path, (mtime, mtime))
        (target / "fixture_app" / "__pycache__").mkdir(exist_ok=True)
        (target / "fixture_app" / "__pycache__" / "junk.pyc").write_bytes(os.urandom(16))
    finally:
        os.umask(old)
    return AppSource(target / "fixture_app", "fixture_app:create_app")


def test_same_tree_same_bytes_in_two_directories(tmp_path: Path) -> None:
    one = copy_app(tmp_path / "one", umask=0o022, mtime=1_000_000, reverse=False)
    two = copy_app(tmp_path / "two", umask=0o077, mtime=2_000_000_000, reverse=True)
    first, second = build_code(one), build_code(two)
    assert first.tree_hash == second.tree_hash
    assert first.data == second.data and first.file_hash == second.file_hash


def test_squashfs_build_is_deterministic(tmp_path: Path) -> None:
    if shutil.which("mksquashfs") is None:
        pytest.fail("mksquashfs is missing: install squashfs-tools")
    one = copy_app(tmp_path / "one", umask=0o022, mtime=1_000_000, reverse=False)
    two = copy_app(tmp_path / "two", umask=0o077, mtime=2_000_000_000, reverse=True)
    first, second = build_code(one, "squashfs"), build_code(two, "squashfs")
    assert first.data[:4] == b"hsqs"
    assert first.data == second.data
    assert first.tree_hash == build_code(one).tree_hash


def test_tree_hash_follows_content_and_mode(tmp_path: Path) -> None:
    app = copy_app(tmp_path / "a", umask=0o022, mtime=1_000_000, reverse=False)
    before = build_code(app).tree_hash
    (app.package / "helpers" / "maths.py").write_text("def double(x):\n    return x + x\n")
    assert build_code(app).tree_hash != before
    files = collect_files(app)
    path = next(iter(files))
    flipped = {**files, path: (0o755, files[path][1])}
    assert tree_hash(flipped) != tree_hash(files)


def test_archive_holds_the_app_its_fishnet_modules_and_the_entrypoint(tmp_path: Path) -> None:
    app = copy_app(tmp_path / "a", umask=0o022, mtime=1_000_000, reverse=False)
    archive = build_code(app)
    names = set(zipfile.ZipFile(io.BytesIO(archive.data)).namelist())
    assert {"fishnet_entry.py", "fixture_app/__init__.py", "fixture_app/helpers/maths.py",
            "fishnet_stack/__init__.py", "fishnet_stack/vm.py", "fishnet_stack/vmkeys.py",
            "fishnet_stack/errors.py"} <= names
    assert not any(n.startswith(("fishnet_stack/deploy", "fishnet_stack/devnet",
                                 "fishnet_stack/aleph")) for n in names)
    assert not any("__pycache__" in n for n in names)
    entry = zipfile.ZipFile(io.BytesIO(archive.data)).read("fishnet_entry.py").decode()
    assert archive.tree_hash in entry and "fixture_app import create_app" in entry
    for info in zipfile.ZipFile(io.BytesIO(archive.data)).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)


@pytest.mark.parametrize("role", ["api", "executor"])
def test_real_app_archive_is_deterministic(role: str, tmp_path: Path) -> None:
    package = ROOT / f"{role}_app"
    if not (package / "__init__.py").is_file():
        pytest.skip(f"{role}_app is not in the tree yet")
    copy = tmp_path / f"{role}_app"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path in sorted(copy.rglob("*"), reverse=True):
        os.utime(path, (1_234_567, 1_234_567))
    original = build_code(AppSource(package, f"{role}_app:create_app"))
    moved = build_code(AppSource(copy, f"{role}_app:create_app"))
    assert original.data == moved.data
    names = set(zipfile.ZipFile(io.BytesIO(original.data)).namelist())
    assert f"{role}_app/__init__.py" in names and "fishnet_stack/vm.py" in names

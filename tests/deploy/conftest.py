"""Fixtures of the deployer tests: the CLI in-process, stack files of the fixture app on the
shared devnet (a fresh owner key and channel each), and reads of what the node holds."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fishnet_stack.aleph.accounts import load_key_file
from fishnet_stack.cli import main
from tests.conftest import DevnetHandle

FIXTURE_APP = Path(__file__).parent / "fixture_app" / "fixture_app"
ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> tuple[int, str]:
    """Run ``fishnet-stack ARGS`` in this process; returns (exit code, stdout + stderr)."""
    out = io.StringIO()
    code: Any = 0
    with redirect_stdout(out), redirect_stderr(out):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code or 0
    return int(code), out.getvalue()


def stack_yaml(name: str, channel: str, app: Path, *, network: str = "devnet",
               slices: tuple[str, ...] = ("{end: 2020-01-01}", "{start: 2020-01-01}"),
               variables: str = "{GREETING: hello}", instances: int = 1, retain: int = 3,
               api_version: str = "0.1.0", executor_version: str = "0.1.0") -> str:
    """A stack of the fixture app (128 MiB programs, so many fit on the devnet)."""
    lines = [
        f"stack: {name}", f"network: {network}", f"channel: {channel}",
        "owner: {key_file: owner.key}",
        f"versions: {{api: {api_version}, executor: {executor_version}}}",
        "api:", f"  instances: {instances}", "  resources: {vcpus: 1, memory: 128, seconds: 30}",
        "executors:", "  resources: {vcpus: 1, memory: 128, seconds: 30}", "  timeslices:",
        *(f"    - {s}" for s in slices),
        f"variables: {variables}", f"retain: {retain}", "apps:",
        f"  api: {{path: {app}, factory: 'fixture_app:create_app'}}",
        f"  executor: {{path: {app}, factory: 'fixture_app:create_app'}}",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class FixtureStack:
    """A stack file in its own directory, deployed on the shared devnet."""

    path: Path
    name: str
    channel: str
    devnet: DevnetHandle
    app: Path

    def write(self, **options: Any) -> None:
        self.path.write_text(stack_yaml(self.name, self.channel, self.app, **options))

    @property
    def owner(self) -> str:
        return load_key_file(self.path.parent / "owner.key").address

    def cli(self, command: str, *args: str) -> tuple[int, str]:
        """``fishnet-stack COMMAND <this stack file> ARGS`` in this process."""
        return run_cli(command, str(self.path), *args)

    def output(self) -> dict[str, Any]:
        code, text = self.cli("output", "--json")
        assert code == 0, text
        start = text.index("{")
        return dict(json.loads(text[start:]))

    def health(self, url: str) -> dict[str, Any]:
        response = httpx.get(f"{url}/health", timeout=60)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def urls(self) -> list[str]:
        document = self.output()
        return [e["url"] for e in document["api"] + document["executors"]]

    def messages(self, message_type: str) -> list[dict[str, Any]]:
        """Every message of ``message_type`` the owner sent (all statuses the node lists)."""
        response = httpx.get(f"{self.devnet.url}/api/v0/messages.json", params={
            "addresses": self.owner, "msgTypes": message_type, "pagination": "0"}, timeout=30)
        response.raise_for_status()
        return list(response.json()["messages"])

    def count_sent(self) -> int:
        response = httpx.get(f"{self.devnet.url}/api/v0/messages.json", params={
            "addresses": self.owner, "pagination": "1"}, timeout=30)
        return int(response.json()["pagination_total"])

    def aggregate(self, key: str) -> dict[str, Any] | None:
        response = httpx.get(f"{self.devnet.url}/api/v0/aggregates/{self.owner}.json",
                             params={"keys": key}, timeout=30)
        if response.status_code == 404:
            return None
        value = response.json()["data"].get(key)
        return dict(value) if isinstance(value, dict) else None

    def subprocess(self, *args: str, env: dict[str, str] | None = None,
                   timeout: float = 240) -> subprocess.CompletedProcess[str]:
        """``fishnet-stack ARGS`` in a child process (for hard exits)."""
        return subprocess.run([sys.executable, "-m", "fishnet_stack", *args],
                              env={**os.environ, **(env or {})}, capture_output=True,
                              text=True, timeout=timeout, check=False)


@pytest.fixture
def devnet_env(devnet: DevnetHandle, monkeypatch: pytest.MonkeyPatch) -> DevnetHandle:
    """Point ``network: devnet`` stacks at the session devnet."""
    monkeypatch.setenv("FISHNET_DEVNET_DIR", str(devnet.data_dir))
    monkeypatch.setenv("FISHNET_DEVNET_PORT", str(devnet.port))
    return devnet


MakeStack = Callable[..., FixtureStack]


@pytest.fixture
def make_stack(devnet_env: DevnetHandle, tmp_path: Path) -> Iterator[MakeStack]:
    """``make_stack(**stack_yaml options)``: a fresh stack (own key, channel) on the shared
    devnet; destroyed at the end of the test so its VMs stop."""
    made: list[FixtureStack] = []

    def _make(devnet: DevnetHandle | None = None, app: Path = FIXTURE_APP,
              **options: Any) -> FixtureStack:
        directory = tmp_path / f"stack{len(made)}"
        directory.mkdir()
        suffix = uuid.uuid4().hex[:8]
        stack = FixtureStack(directory / "stack.yaml", f"t-{suffix}", f"T_{suffix.upper()}",
                             devnet or devnet_env, app)
        stack.write(**options)
        made.append(stack)
        return stack

    yield _make
    for stack in made:
        if stack.devnet is devnet_env and (stack.path.parent / "owner.key").exists():
            run_cli("destroy", str(stack.path), "--auto-approve")

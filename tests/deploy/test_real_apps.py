"""The bundled API and executor apps deployed on devnet with their packages volumes.

The first run pip-installs two ~460 MB packages volumes (about 2 minutes per volume with a cold
pip cache); they are cached in ``.fishnet/cache`` of the repository (or ``$FISHNET_CACHE_DIR``),
so later runs take seconds.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest

from fishnet_stack.build import lock_hash
from tests.conftest import MakeDevnet
from tests.deploy.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow

STACK = """\
stack: real-apps
network: devnet
channel: REAL_APPS
owner: {key_file: owner.key}
versions: {api: 0.1.0, executor: 0.1.0}
api:
  instances: 1
  resources: {vcpus: 1, memory: 1024, seconds: 30}
executors:
  resources: {vcpus: 1, memory: 1024, seconds: 300}
  timeslices:
    - {end: 2020-01-01}
    - {start: 2020-01-01}
"""


def test_bundled_apps_deploy_and_answer(make_devnet: MakeDevnet, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    node = make_devnet(max_body_bytes=2 * 1024**3)
    monkeypatch.setenv("FISHNET_DEVNET_DIR", str(node.data_dir))
    monkeypatch.setenv("FISHNET_DEVNET_PORT", str(node.port))
    monkeypatch.setenv("FISHNET_CACHE_DIR", os.environ.get("FISHNET_CACHE_DIR")
                       or str(ROOT / ".fishnet" / "cache"))
    stack = tmp_path / "stack.yaml"
    stack.write_text(STACK)
    code, text = run_cli("apply", str(stack), "--auto-approve")
    assert code == 0, text
    assert "packages volume for api" in text and "packages volume for executor" in text
    code, text = run_cli("output", str(stack), "--json")
    assert code == 0, text
    document = json.loads(text[text.index("{"):])
    api = document["api"][0]["url"]
    deadline = time.monotonic() + 60
    response = httpx.get(f"{api}/datasets", timeout=60)
    while response.status_code != 200 and time.monotonic() < deadline:  # index still loading
        time.sleep(0.2)
        response = httpx.get(f"{api}/datasets", timeout=60)
    assert response.status_code == 200 and response.json() == [], response.text
    for entry in document["api"] + document["executors"]:
        health = httpx.get(f"{entry['url']}/health", timeout=60).json()
        assert health["status"] == "ok" and health["release"] == 1
    assert run_cli("plan", str(stack), "--detailed-exitcode")[0] == 0
    volumes = {lock_hash(ROOT / "templates" / "requirements" / f"{r}.txt")
               for r in ("api", "executor")}
    assert len(volumes) == 2
    assert run_cli("destroy", str(stack), "--auto-approve")[0] == 0

"""The README's first command, end to end: deploy stacks/local.yaml on a devnet (real API and
executor apps with their packages volumes), then run examples/quickstart.py against it.

The packages volumes are built once per lock hash and cached in ``.fishnet/cache`` of the
repository (or ``$FISHNET_CACHE_DIR``): the first run pip-installs them (minutes), later runs
reuse them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_readme_quickstart_deploys_and_computes(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "stacks" / "local.yaml", tmp_path / "stacks" / "local.yaml")
    env = {**os.environ, "FISHNET_DEVNET_PORT": str(free_port()),
           "FISHNET_DEVNET_DIR": str(tmp_path / "devnet"),
           "FISHNET_CACHE_DIR": os.environ.get("FISHNET_CACHE_DIR")
           or str(ROOT / ".fishnet" / "cache")}
    cli = [sys.executable, "-m", "fishnet_stack"]

    def run(*args: str, timeout: float = 1200) -> str:
        done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=timeout)
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{output}"
        return output

    try:
        applied = run(*cli, "apply", "stacks/local.yaml", "--auto-approve")
        assert "Apply complete: release 1 active" in applied, applied
        run(*cli, "plan", "stacks/local.yaml", "--detailed-exitcode")  # 0: nothing to change
        output = run(sys.executable, str(ROOT / "examples" / "quickstart.py"),
                     "--stack", "stacks/local.yaml", timeout=600)
    finally:
        subprocess.run([*cli, "devnet", "down"], cwd=tmp_path, env=env, capture_output=True,
                       timeout=60)
    assert "the result was verified" in output, output
    rows = re.findall(r"│ (BTC|ETH|SOL)\s+│\s+([\d.]+) │\s+([\d.]+) │", output)
    assert {r[0] for r in rows} == {"BTC", "ETH", "SOL"}, output
    for _, remote, local in rows:
        assert float(remote) == pytest.approx(float(local), rel=1e-6)

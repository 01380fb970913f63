"""A Fishnet running on this machine for benchmarks: a devnet, one API process and executor
processes (standalone, as ``python -m api_app`` / ``python -m executor_app``), all authorised.

Reuses the process launchers of the test suite, so benchmarks measure what the tests exercise.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fishnet_stack.aleph.accounts import Account  # noqa: E402
from fishnet_stack.devnet.config import DevnetConfig  # noqa: E402
from fishnet_stack.devnet.daemon import start_devnet, stop_devnet  # noqa: E402
from tests.api.conftest import ApiProcess, Wallet, authorize  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.executor.conftest import ExecutorProcess  # noqa: E402

__all__ = ["LocalStack", "local_stack"]


@dataclass
class LocalStack:
    devnet_url: str
    owner: Account
    channel: str
    api: ApiProcess
    executors: list[ExecutorProcess]

    def wallet(self) -> Wallet:
        return Wallet(self.api.url)


@contextmanager
def local_stack(cuts: list[str], run_seconds: int = 300) -> Iterator[LocalStack]:
    """A stack whose slices are cut at ``cuts`` (ISO times), one executor per slice."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        config = DevnetConfig(port=free_port(), data_dir=base / "devnet", compute=False)
        devnet = start_devnet(config)
        owner = Account.generate()
        channel = f"BENCH-{uuid.uuid4().hex[:10]}"
        api = ApiProcess(devnet.url, channel, owner.address, base / "api", slices=",".join(cuts))
        bounds = ["", *cuts, ""]
        executors = [
            ExecutorProcess(devnet.url, channel, owner.address, bounds[i], bounds[i + 1],
                            base / f"executor-{i}", run_seconds=run_seconds,
                            claim_settle=0.3)  # the app's default
            for i in range(len(cuts) + 1)
        ]
        asyncio.run(authorize(devnet.url, owner, [api.address, *(e.address for e in executors)],
                              channel))
        try:
            api.start()
            for executor in executors:
                executor.start()
            yield LocalStack(devnet.url, owner, channel, api, executors)
        finally:
            for executor in executors:
                executor.stop()
            api.stop()
            stop_devnet(config.data_dir)

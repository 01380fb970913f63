"""A deployment for the SDK tests: two API instances (for failover) and two executors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fishnet_stack.aleph.accounts import Account
from fishnet_stack.sdk import Fishnet, Wallet
from tests.api.conftest import ApiProcess, authorize
from tests.conftest import DevnetHandle
from tests.executor.conftest import CUT, ExecutorProcess, make_executor


@dataclass
class SdkStack:
    devnet: DevnetHandle
    owner: Account
    channel: str
    apis: list[ApiProcess]
    executors: list[ExecutorProcess]

    def connect(self, wallet: Wallet) -> Fishnet:
        return Fishnet([api.url for api in self.apis], wallet)


@pytest.fixture(scope="module")
def sdk_stack(devnet: DevnetHandle,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[SdkStack]:
    owner = Account.generate()
    channel = f"SDK-{uuid.uuid4().hex[:12]}"
    base = tmp_path_factory.mktemp("sdk")
    apis = [ApiProcess(devnet.url, channel, owner.address, base / f"api-{i}", slices=CUT)
            for i in range(2)]
    executors = [make_executor(devnet, owner, channel, i, base / f"executor-{i}")
                 for i in range(2)]
    asyncio.run(authorize(devnet.url, owner, [*(a.address for a in apis),
                                              *(e.address for e in executors)], channel))
    for process in [*apis, *executors]:
        process.start()
    yield SdkStack(devnet, owner, channel, apis, executors)
    for process in [*executors, *apis]:
        process.stop()

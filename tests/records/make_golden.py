"""Generate the aars golden fixtures (``tests/records/golden/``) with the real aars 0.7.5.

Not run by CI: aars imports only with pydantic v1 and aleph-sdk-python 0.6, so this runs in a
throwaway virtualenv against a devnet started here::

    python3.10 -m venv /tmp/aars-venv   # not 3.11+: see below
    /tmp/aars-venv/bin/pip install aars==0.7.5 aleph-sdk-python==0.6.0 "httpx<0.28"
    /tmp/aars-venv/bin/python tests/records/make_golden.py --fishnet-stack .venv/bin/fishnet-stack

It starts a devnet (``fishnet-stack devnet up --detach``) on a free port, uses aars to create,
amend, fetch, filter and forget records, then dumps the raw messages the node holds (from
``messages.json`` and ``posts.json``) and what aars read back, as JSON. The devnet is stopped at
the end whatever happens.

Python 3.10, not 3.11+: aleph-sdk 0.6 formats ``MessageType.post`` into the signed buffer with
an f-string, which Python 3.11 renders as ``MessageType.post`` instead of ``POST`` (Enum
``__format__`` changed), so every signature it makes there is invalid and nodes refuse them.
"""

# ruff: noqa: UP006, UP035, UP045  (pydantic v1 models under Python 3.10: keep typing generics)

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
CHANNEL = "FISHNET_AARS_GOLDEN"
# A fixed, throwaway key: the fixtures then always carry the same sender address.
PRIVATE_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


async def exercise(api: str) -> Dict[str, Any]:
    # aars reads the node URL from aleph-sdk's settings, which are read at import time.
    os.environ["ALEPH_API_HOST"] = api
    from aars import AARS, Index, Record
    from aleph.sdk.chains.ethereum import ETHAccount
    from aleph.sdk.client import AuthenticatedAlephClient

    class Timeseries(Record):
        name: str
        owner: str
        desc: Optional[str]
        available: bool = True
        data: List[List[float]]

    class Dataset(Record):
        name: str
        owner: str
        ownsAllTimeseries: bool
        available: bool = True
        timeseriesIDs: List[str]
        desc: Optional[str]
        viewIDs: Optional[List[str]]
        price: Optional[str]

    class Permission(Record):
        authorizer: str
        requestor: str
        datasetID: str
        timeseriesID: Optional[str]
        algorithmID: Optional[str]
        status: str
        executionCount: int
        maxExecutionCount: Optional[int]

    Index(Timeseries, "owner")
    Index(Dataset, "owner")
    Index(Permission, ["requestor", "status"])

    account = ETHAccount(PRIVATE_KEY)
    session = AuthenticatedAlephClient(account=account, api_server=api)
    AARS(account=account, channel=CHANNEL, session=session)
    owner = account.get_address()

    ts1 = await Timeseries(name="BTC", owner=owner, desc="bitcoin close",
                           data=[[1600000000, 10.5], [1600086400, 11.0]]).save()
    ts2 = await Timeseries(name="ETH", owner=owner, desc=None,
                           data=[[1600000000, 1.5]]).save()
    dataset = await Dataset(name="crypto", owner=owner, ownsAllTimeseries=True,
                            timeseriesIDs=[ts1.item_hash, ts2.item_hash], desc="two coins",
                            viewIDs=None, price="0").save()
    permission = await Permission(authorizer=owner, requestor="0xresearcher",
                                  datasetID=dataset.item_hash, timeseriesID=None,
                                  algorithmID=None, status="REQUESTED", executionCount=0,
                                  maxExecutionCount=3).save()
    # two amends of the dataset, one of the permission
    dataset.desc = "two coins, amended"
    await dataset.save()
    dataset.available = False
    await dataset.save()
    permission.status = "GRANTED"
    await permission.save()
    # a record that is then forgotten with all its revisions
    doomed = await Timeseries(name="DOOMED", owner=owner, desc="to forget", data=[]).save()
    doomed.desc = "amended before forgetting"
    await doomed.save()
    await doomed.forget()

    fetched = await Dataset.fetch(dataset.item_hash).all()
    by_owner = await Timeseries.filter(owner=owner).all()
    granted = await Permission.filter(requestor="0xresearcher", status="REQUESTED").all()
    await session.__aexit__(None, None, None)
    return {
        "owner": owner,
        "channel": CHANNEL,
        "ids": {"ts1": ts1.item_hash, "ts2": ts2.item_hash, "dataset": dataset.item_hash,
                "permission": permission.item_hash, "doomed": doomed.item_hash},
        "revision_hashes": {"dataset": [str(h) for h in dataset.revision_hashes],
                            "permission": [str(h) for h in permission.revision_hashes],
                            "doomed": [str(h) for h in doomed.revision_hashes]},
        "aars_read": {
            "dataset": [{"item_hash": r.item_hash, "content": r.content,
                         "revision_hashes": [str(h) for h in r.revision_hashes],
                         "current_revision": r.current_revision, "signer": r.signer}
                        for r in fetched],
            "timeseries_by_owner": sorted(r.name for r in by_owner),
            "permissions_requested": [r.item_hash for r in granted],
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fishnet-stack", default="fishnet-stack",
                        help="the fishnet-stack command of the project's environment")
    args = parser.parse_args()
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="aars-golden-"))
    api = f"http://127.0.0.1:{port}"
    subprocess.run([args.fishnet_stack, "devnet", "up", "--detach", "--no-compute",
                    "--port", str(port), "--data-dir", str(data_dir)], check=True)
    try:
        summary = asyncio.run(exercise(api))
        messages = get_json(f"{api}/api/v0/messages.json?channels={CHANNEL}"
                            "&pagination=0&sortOrder=1")["messages"]
        posts = get_json(f"{api}/api/v0/posts.json?channels={CHANNEL}&pagination=0"
                         "&sortOrder=1")["posts"]
    finally:
        subprocess.run([args.fishnet_stack, "devnet", "down", "--data-dir", str(data_dir)],
                       check=False)
    GOLDEN.mkdir(exist_ok=True)
    for name, value in (("summary", summary), ("messages", messages), ("posts", posts)):
        (GOLDEN / f"{name}.json").write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(messages)} messages and {len(posts)} posts to {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The compute node end to end: programs uploaded with aleph-sdk's create_store + create_program
on a real devnet, called through the node's /vm/{item_hash}/ proxy."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from aleph.sdk.chains.ethereum import ETHAccount
from aleph.sdk.client import AuthenticatedAlephHttpClient
from aleph.sdk.conf import settings
from aleph_message.models import ProgramMessage

from tests.conftest import DevnetHandle, MakeDevnet, new_account
from tests.devnet.support import wait_for

pytestmark = pytest.mark.slow

APP_SOURCE = (Path(__file__).parent / "apps" / "probe_app.py").read_text()
STATE_VOLUME = {"name": "state", "mount": "/data/state", "persistence": "host", "size_mib": 1}


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("main.py", APP_SOURCE)
    return buffer.getvalue()


def squashfs_archive(tmp: Path) -> bytes:
    source = tmp / "src"
    source.mkdir()
    (source / "main.py").write_text(APP_SOURCE)
    image = tmp / "code.squashfs"
    subprocess.run(["mksquashfs", str(source), str(image), "-quiet", "-noappend"], check=True)
    return image.read_bytes()


async def deploy(
    aleph: AuthenticatedAlephHttpClient, channel: str, archive: bytes, **options: Any
) -> ProgramMessage:
    store, _ = await aleph.create_store(file_content=archive, channel=channel, sync=True)
    program, _ = await aleph.create_program(
        program_ref=store.item_hash, entrypoint="main:app", runtime=settings.DEFAULT_RUNTIME_ID,
        channel=channel, memory=128, sync=True, **options,
    )
    assert isinstance(program, ProgramMessage)
    return program


async def get_json(url: str, method: str = "GET") -> Any:
    async with httpx.AsyncClient(timeout=90) as http:
        response = await http.request(method, url)
        assert response.status_code == 200, response.text
        return response.json()


async def test_program_answers_with_its_variables(
    devnet: DevnetHandle, client: AuthenticatedAlephHttpClient, channel: str
) -> None:
    program = await deploy(client, channel, zip_archive(),
                           environment_variables={"GREETING": "hi"})
    seen = await get_json(f"{devnet.url}/vm/{program.item_hash}/some/path?x=1")
    assert seen["path"] == "/some/path"
    assert seen["query"] == "x=1"
    assert seen["env"]["GREETING"] == "hi"
    assert seen["env"]["ALEPH_API_HOST"] == devnet.url
    assert seen["env"]["HOME"] is None, "the node's environment must not leak into VMs"


async def test_subscribed_messages_arrive_as_events(
    devnet: DevnetHandle, client: AuthenticatedAlephHttpClient, channel: str
) -> None:
    program = await deploy(client, channel, zip_archive(),
                           subscriptions=[{"channel": channel, "type": "POST"}])
    events_url = f"{devnet.url}/vm/{program.item_hash}/events"
    assert (await get_json(events_url))["events"] == []
    other, _ = await client.create_post({"n": 0}, post_type="t", channel=channel + "-other",
                                        sync=True)
    wanted, _ = await client.create_post({"n": 1}, post_type="t", channel=channel, sync=True)
    events = await wait_for(lambda: get_json(events_url), lambda e: wanted.item_hash in e["events"],
                            timeout=30, what="the subscribed post as an event")
    assert other.item_hash not in events["events"]


async def test_module_outside_the_archive_does_not_import(
    devnet: DevnetHandle, client: AuthenticatedAlephHttpClient, channel: str
) -> None:
    import yaml  # noqa: F401  (installed in the project's environment: the VM must not see it)

    program = await deploy(client, channel, zip_archive())
    vm = f"{devnet.url}/vm/{program.item_hash}"
    assert (await get_json(f"{vm}/import/json"))["ok"] is True
    refused = await get_json(f"{vm}/import/yaml")
    assert refused["ok"] is False and "yaml" in refused["error"]


async def test_forgotten_program_stops_being_served(
    devnet: DevnetHandle, client: AuthenticatedAlephHttpClient, channel: str
) -> None:
    program = await deploy(client, channel, zip_archive())
    url = f"{devnet.url}/vm/{program.item_hash}/"
    await get_json(url)
    await client.forget([program.item_hash], reason="test", channel=channel, sync=True)

    async def status() -> int:
        async with httpx.AsyncClient(timeout=30) as http:
            return (await http.get(url)).status_code

    await wait_for(status, lambda code: code == 404, timeout=10, what="404 after FORGET")


async def test_squashfs_archive_boots(
    devnet: DevnetHandle, client: AuthenticatedAlephHttpClient, channel: str, tmp_path: Path
) -> None:
    if shutil.which("mksquashfs") is None:
        pytest.fail("mksquashfs is missing: install squashfs-tools (.ci/run does)")
    program = await deploy(client, channel, squashfs_archive(tmp_path), encoding="squashfs",
                           environment_variables={"GREETING": "squashed"})
    seen = await get_json(f"{devnet.url}/vm/{program.item_hash}/")
    assert seen["env"]["GREETING"] == "squashed"


async def test_persistent_volume_survives_a_devnet_restart(make_devnet: MakeDevnet) -> None:
    node = make_devnet()
    account: ETHAccount = new_account()
    async with AuthenticatedAlephHttpClient(account, api_server=node.url) as aleph:
        program = await deploy(aleph, "CRN-PERSIST", zip_archive(), persistent=True,
                               volumes=[STATE_VOLUME])
    count_url = f"{node.url}/vm/{program.item_hash}/count"
    assert (await get_json(count_url, "POST"))["count"] == 1
    assert (await get_json(count_url, "POST"))["count"] == 2
    node.restart()
    assert (await get_json(count_url, "POST"))["count"] == 3

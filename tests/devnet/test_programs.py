"""PROGRAM messages as the node sees them (no VM is booted here): their refs must exist, and the
STOREs they use cannot be forgotten while they live."""

from __future__ import annotations

import time

import httpx
import pytest
from aleph.sdk.client import AuthenticatedAlephHttpClient
from aleph.sdk.conf import settings
from aleph.sdk.exceptions import InvalidMessageError, ResourceNotFoundError
from aleph.sdk.utils import make_program_content
from aleph_message.models import MessageType, ProgramMessage
from aleph_message.status import MessageStatus

from tests.conftest import Connect
from tests.devnet.support import hashes_of, sha256_hex


async def create_program(
    client: AuthenticatedAlephHttpClient, code_ref: str, channel: str,
    volume_refs: tuple[str, ...] = (),
) -> tuple[ProgramMessage, MessageStatus]:
    """A non-persistent program (booted only on request, so never here)."""
    return await client.create_program(
        program_ref=code_ref, entrypoint="main:app", runtime=settings.DEFAULT_RUNTIME_ID,
        volumes=[{"ref": ref, "mount": f"/opt/v{i}", "use_latest": True}
                 for i, ref in enumerate(volume_refs)],
        channel=channel, sync=True,
    )


async def test_program_with_existing_code_is_processed(connect: Connect, channel: str) -> None:
    client = await connect()
    code, _ = await client.create_store(file_content=b"PK not really a zip", channel=channel,
                                        sync=True)
    program, status = await create_program(client, code.item_hash, channel)
    assert status == MessageStatus.PROCESSED
    got = await client.get_message(program.item_hash, message_type=ProgramMessage)
    assert got.content.code.ref == code.item_hash
    assert got.content.runtime.ref == settings.DEFAULT_RUNTIME_ID


@pytest.mark.parametrize("missing", ["code", "volume"])
async def test_program_with_unknown_ref_is_not_processed(
    connect: Connect, channel: str, missing: str
) -> None:
    client = await connect()
    code, _ = await client.create_store(file_content=f"code {channel}".encode(),
                                        channel=channel, sync=True)
    unknown = sha256_hex(f"no-such-store-{time.time()}")
    code_ref, volume_refs = (unknown, ()) if missing == "code" else (code.item_hash, (unknown,))

    # create_program sends with raise_on_rejected=False, then reads the rejection through
    # GET /messages/{hash} and raises ValueError. (pyaleph itself retries such a message.)
    try:
        _, answered = await create_program(client, code_ref, channel, volume_refs)
    except ValueError:
        pass
    else:
        pytest.fail(f"create_program accepted an unknown {missing} ref: {answered}")

    # the same through submit, to see the status the node gives and records
    content = make_program_content(
        program_ref=code_ref, entrypoint="main:app", runtime=settings.DEFAULT_RUNTIME_ID,
        address=client.account.get_address(),
        volumes=[{"ref": ref, "mount": "/opt/v", "use_latest": True} for ref in volume_refs],
    )
    message, status, _ = await client.submit(
        content.model_dump(exclude_none=True), MessageType.program, channel=channel,
        sync=True, raise_on_rejected=False,
    )
    assert status == MessageStatus.REJECTED
    assert await client.get_message_status(message.item_hash) == MessageStatus.REJECTED

    programs = await hashes_of(client, channels=[channel], message_types=[MessageType.program])
    assert programs == []


async def test_store_used_by_live_program_cannot_be_forgotten(
    connect: Connect, channel: str, http: httpx.AsyncClient
) -> None:
    client = await connect()
    code_bytes, volume_bytes = f"code {channel}".encode(), f"volume {channel}".encode()
    code, _ = await client.create_store(file_content=code_bytes, channel=channel, sync=True)
    volume, _ = await client.create_store(file_content=volume_bytes, channel=channel, sync=True)
    program, status = await create_program(client, code.item_hash, channel, (volume.item_hash,))
    assert status == MessageStatus.PROCESSED

    for used in (code, volume):
        with pytest.raises(InvalidMessageError):
            await client.forget([used.item_hash], reason="in use", channel=channel, sync=True)
        assert await client.get_message_status(used.item_hash) == MessageStatus.PROCESSED
    assert await client.download_file(code.content.item_hash) == code_bytes
    assert await client.download_file(volume.content.item_hash) == volume_bytes

    _, status = await client.forget([program.item_hash], reason="retire", channel=channel,
                                    sync=True)
    assert status == MessageStatus.PROCESSED
    assert await client.get_message_status(program.item_hash) == MessageStatus.FORGOTTEN

    _, status = await client.forget([code.item_hash, volume.item_hash], reason="unused now",
                                    channel=channel, sync=True)
    assert status == MessageStatus.PROCESSED
    for gone in (code, volume):
        assert await client.get_message_status(gone.item_hash) == MessageStatus.FORGOTTEN
        with pytest.raises(ResourceNotFoundError):
            await client.download_file(gone.content.item_hash)
        raw = await http.get(f"/api/v0/storage/raw/{gone.content.item_hash}")
        assert raw.status_code == 404


async def test_forgotten_file_still_served_while_another_store_pins_it(
    connect: Connect, channel: str
) -> None:
    """Two STOREs of the same bytes: forgetting one leaves the file to the other."""
    first_owner, second_owner = await connect(), await connect()
    data = f"shared bytes {channel}".encode()
    first, _ = await first_owner.create_store(file_content=data, channel=channel, sync=True)
    second, _ = await second_owner.create_store(file_content=data, channel=channel, sync=True)
    assert first.content.item_hash == second.content.item_hash

    await first_owner.forget([first.item_hash], reason=None, channel=channel, sync=True)
    assert await first_owner.get_message_status(first.item_hash) == MessageStatus.FORGOTTEN
    assert await second_owner.download_file(second.content.item_hash) == data

"""devnet in one minute: deploy a program on the local compute node and talk to it.

Starts the devnet of this directory when it is not running, then, through the unmodified
aleph-sdk-python client: uploads a tiny ASGI app as a zip STORE, creates a PROGRAM subscribed to a
channel, calls it at /vm/{item_hash}/, posts a signed record that the program receives as an
``aleph.message`` event, and reads the record back. Run it again: the same devnet, more records.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
import zipfile
from pathlib import Path

import httpx
from aleph.sdk.chains.ethereum import ETHAccount
from aleph.sdk.client import AuthenticatedAlephHttpClient
from aleph.sdk.conf import settings
from aleph.sdk.query.filters import PostFilter

from fishnet_stack.devnet.config import DevnetConfig, default_data_dir
from fishnet_stack.devnet.daemon import find_devnet, start_devnet

CHANNEL = "FISHNET_HELLO"
KEY_FILE = Path(".fishnet/keys/hello.key")

# A stdlib-only ASGI app: what the official Aleph runtime can run without a packages volume.
APP = '''
import json, os

EVENTS = []


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] == "aleph.message":
        event = await receive()
        body = event["body"]
        EVENTS.append(json.loads(body) if isinstance(body, (str, bytes)) else body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if scope["path"] == "/events":
        answer = {"events": [e["item_hash"] for e in EVENTS]}
    else:
        answer = {"greeting": os.environ.get("GREETING"), "path": scope["path"]}
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(answer).encode()})
'''


def owner_key() -> bytes:
    """The example's key, created on first run (hex in a 0600 file)."""
    if not KEY_FILE.exists():
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("0x" + os.urandom(32).hex() + "\n")
    return bytes.fromhex(KEY_FILE.read_text().strip().removeprefix("0x"))


def archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("main.py", APP)
    return buffer.getvalue()


async def main(url: str) -> None:
    account = ETHAccount(owner_key())
    async with AuthenticatedAlephHttpClient(account, api_server=url) as aleph:
        store, _ = await aleph.create_store(file_content=archive(), channel=CHANNEL, sync=True)
        program, status = await aleph.create_program(
            program_ref=store.item_hash, entrypoint="main:app",
            runtime=settings.DEFAULT_RUNTIME_ID, channel=CHANNEL, memory=256,
            environment_variables={"GREETING": "hello from devnet"},
            subscriptions=[{"channel": CHANNEL, "type": "POST"}], sync=True,
        )
        print(f"program {program.item_hash} {status.value}")
        vm = f"{url}/vm/{program.item_hash}"
        async with httpx.AsyncClient(timeout=120) as http:
            print("GET /  ->", (await http.get(f"{vm}/")).json())
            post, _ = await aleph.create_post(
                {"symbol": "BTC", "close": 97000.5, "time": time.time()}, post_type="bar",
                channel=CHANNEL, sync=True,
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                seen = (await http.get(f"{vm}/events")).json()["events"]
                if post.item_hash in seen:
                    print(f"the program received post {post.item_hash} as an aleph.message event")
                    break
                await asyncio.sleep(0.1)
            else:
                raise SystemExit("the program never received the post")
        posts = await aleph.get_posts(post_filter=PostFilter(channels=[CHANNEL], types=["bar"]))
        print(f"{posts.pagination_total} 'bar' post(s) in {CHANNEL}; latest:",
              json.dumps(posts.posts[0].content))


if __name__ == "__main__":
    data_dir = default_data_dir()
    running = find_devnet(data_dir)
    if running is None:
        running = start_devnet(DevnetConfig(data_dir=data_dir))
        print(f"started devnet at {running.url} (stop it with: fishnet-stack devnet down)")
    asyncio.run(main(running.url))

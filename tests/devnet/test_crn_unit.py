"""The devnet compute node without the node: real VM processes, a dict-backed ProgramSource.

Programs are a small stdlib-only ASGI app (``APP``) packed as zip or squashfs by the tests; the
node's ``/vm/{item_hash}/{path}`` route is mounted on a bare Starlette app and called through
httpx's ASGI transport, so every request really goes through ``ComputeNode.proxy`` to a VM.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fishnet_stack.devnet.crn import ComputeNode
from fishnet_stack.devnet.crn.program import (
    DEFAULT_RUNTIME_ID,
    PersistentVolume,
    ProgramError,
    ProgramSpec,
    subscription_matches,
)
from fishnet_stack.devnet.runtime.asgi import http_handler, serve_connection
from tests.devnet.support import wait_for

NODE_URL = "http://127.0.0.1:4999"

APP = r'''
import asyncio, json, os, sys

EVENTS = []
VERSION = "v1"


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "aleph.message":
        message = await receive()
        EVENTS.append(json.loads(message["body"]))
        await send({"status": "received"})
        return
    request = await receive()
    path, query = scope["path"], scope["query_string"].decode()
    if path == "/echo":
        result = {"method": scope["method"], "path": path, "query": query,
                  "body": request["body"].decode(),
                  "headers": {k.decode(): v.decode() for k, v in scope["headers"]}}
    elif path == "/env":
        result = dict(os.environ)
    elif path == "/events":
        result = EVENTS
    elif path == "/version":
        result = VERSION
    elif path == "/imports":
        result = {"sys_path": sys.path}
        for name in ("yaml", "httpx", "extra_pkg"):
            try:
                result[name] = getattr(__import__(name), "ORIGIN", "imported")
            except ImportError as exc:
                result[name] = f"ImportError: {exc}"
    elif path == "/write":
        with open(os.path.join(query, "note.txt"), "w") as file:
            file.write(request["body"].decode())
        result = "written"
    elif path == "/read":
        try:
            with open(os.path.join(query, "note.txt")) as file:
                result = file.read()
        except OSError as exc:
            result = f"missing: {exc}"
    elif path == "/slow":
        await asyncio.sleep(float(query))
        result = "slept"
    elif path == "/crash":
        print("crashing on purpose", flush=True)
        os._exit(3)
    else:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"not found"})
        return
    body = json.dumps(result).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"x-app", b"yes")]})
    await send({"type": "http.response.body", "body": body})
'''


class FakeSource:
    """A ProgramSource over dicts: programs by item_hash, STORE refs to files."""

    def __init__(self) -> None:
        self.programs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, Path] = {}
        self.latest: dict[str, Path] = {}

    def get_program(self, item_hash: str) -> dict[str, Any] | None:
        return self.programs.get(item_hash)

    def live_programs(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self.programs.items())

    def store_file(self, ref: str, use_latest: bool) -> Path | None:
        if use_latest and ref in self.latest:
            return self.latest[ref]
        return self.files.get(ref)


def make_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def make_squashfs(path: Path, files: dict[str, str]) -> Path:
    tree = path.with_suffix(".tree")
    tree.mkdir()
    for name, text in files.items():
        (tree / name).write_text(text)
    subprocess.run(["mksquashfs", str(tree), str(path), "-noappend", "-quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def program(code_ref: str, *, encoding: str = "zip", persistent: bool = False,
            memory: int = 128, subscriptions: list[dict[str, Any]] | None = None,
            volumes: list[dict[str, Any]] | None = None, use_latest: bool = False,
            variables: dict[str, str] | None = None) -> dict[str, Any]:
    """A PROGRAM content the way aleph-sdk writes it."""
    content: dict[str, Any] = {
        "type": "vm-function", "address": "0xabc", "time": time.time(), "allow_amend": False,
        "code": {"encoding": encoding, "entrypoint": "main:app", "ref": code_ref,
                 "use_latest": use_latest},
        "runtime": {"ref": DEFAULT_RUNTIME_ID, "use_latest": True, "comment": ""},
        "on": {"http": True, "persistent": persistent},
        "environment": {"reproducible": False, "internet": True, "aleph_api": True},
        "resources": {"vcpus": 1, "memory": memory, "seconds": 30},
        "variables": variables or {},
        "volumes": volumes or [],
    }
    if subscriptions is not None:
        content["on"]["message"] = subscriptions
    return content


def message(kind: str, content: dict[str, Any], *, item_hash: str | None = None,
            channel: str = "TEST") -> dict[str, Any]:
    return {"chain": "ETH", "sender": "0xabc", "type": kind, "channel": channel,
            "item_hash": item_hash or uuid.uuid4().hex * 2, "content": content,
            "time": time.time(), "item_type": "inline", "signature": "0x00"}


async def eventually(probe: Callable[[], Awaitable[Any]], done: Callable[[Any], bool],
                     timeout: float = 15.0, what: str = "condition") -> Any:
    return await wait_for(probe, done, timeout=timeout, what=what)


class Harness:
    """One compute node on a temporary data dir, plus an HTTP client on its proxy route."""

    def __init__(self, tmp: Path, source: FakeSource, **options: Any) -> None:
        self.tmp, self.source = tmp, source
        self.options = {"memory_mib": 4096, "idle_timeout": 60.0, **options}
        self.crn = self._new_crn()
        self.http = self._client()

    def _new_crn(self) -> ComputeNode:
        return ComputeNode(self.source, data_dir=self.tmp / "devnet", node_url=NODE_URL,
                           **self.options)

    def _client(self) -> httpx.AsyncClient:
        async def route(request: Request) -> Response:
            return await self.crn.proxy(request, request.path_params["item_hash"],
                                        request.path_params.get("path", ""))

        methods = ["GET", "POST", "PUT", "DELETE", "HEAD"]
        app = Starlette(routes=[Route("/vm/{item_hash}", route, methods=methods),
                                Route("/vm/{item_hash}/{path:path}", route, methods=methods)])
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://devnet", timeout=60)

    async def restart(self) -> None:
        """Stop this compute node and start a new one on the same data directory."""
        await self.crn.stop()
        self.crn = self._new_crn()
        await self.crn.start()

    def zip_program(self, name: str, files: dict[str, str] | None = None) -> str:
        ref = f"store-{name}-{uuid.uuid4().hex[:8]}"
        self.source.files[ref] = make_zip(self.tmp / f"{ref}.zip", files or {"main.py": APP})
        return ref

    async def post(self, content: dict[str, Any], item_hash: str | None = None) -> str:
        item_hash = item_hash or uuid.uuid4().hex * 2
        self.source.programs[item_hash] = content
        await self.crn.notify(message("PROGRAM", content, item_hash=item_hash))
        return item_hash

    async def forget(self, item_hash: str) -> None:
        self.source.programs.pop(item_hash, None)
        await self.crn.notify(message("FORGET", {"hashes": [item_hash], "address": "0xabc",
                                                 "time": time.time()}))

    def vm(self, item_hash: str) -> dict[str, Any]:
        return next(row for row in self.crn.status() if row["item_hash"] == item_hash)

    async def state(self, item_hash: str) -> str:
        return str(self.vm(item_hash)["state"])

    async def get_json(self, item_hash: str, path: str) -> Any:
        response = await self.http.get(f"/vm/{item_hash}{path}")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def crn(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path, FakeSource())
    await harness.crn.start()
    yield harness
    await harness.crn.stop()
    await harness.http.aclose()


@pytest.fixture
async def tight_crn(tmp_path: Path) -> AsyncIterator[Harness]:
    """Room for one 128 MiB program, and a short idle timeout."""
    harness = Harness(tmp_path, FakeSource(), memory_mib=200, idle_timeout=1.0)
    await harness.crn.start()
    yield harness
    await harness.crn.stop()
    await harness.http.aclose()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(") ", 1)[1][:1] != "Z"


# -- pure parts -----------------------------------------------------------------------------


def test_subscriptions_match_key_by_key_and_recurse() -> None:
    msg = message("POST", {"type": "Execution", "address": "0x1"}, channel="FISHNET")
    assert subscription_matches({"channel": "FISHNET"}, msg)
    assert subscription_matches({"channel": "FISHNET", "content": {"type": "Execution"}}, msg)
    assert not subscription_matches({"channel": "OTHER"}, msg)
    assert not subscription_matches({"content": {"type": "Result"}}, msg)
    assert not subscription_matches({"content": {"missing": "x"}}, msg)
    assert not subscription_matches({"nonexistent": "x"}, msg)
    assert not subscription_matches({}, msg)  # aleph-vm: an empty subscription never matches


def test_program_spec_reads_sdk_content() -> None:
    content = program("ref1", persistent=True, memory=512, variables={"A": "1"},
                      subscriptions=[{"channel": "X"}],
                      volumes=[{"mount": "/data/identity", "persistence": "host",
                                "name": "identity", "size_mib": 1}])
    spec = ProgramSpec.parse(content)
    assert (spec.entrypoint, spec.code_ref, spec.memory_mib, spec.persistent) == (
        "main:app", "ref1", 512, True)
    assert spec.variables == {"A": "1"}
    assert spec.volumes == (PersistentVolume("/data/identity", "identity"),)
    assert spec.subscriptions == ({"channel": "X"},)


@pytest.mark.parametrize("change, needle", [
    ({"code": {"encoding": "plain", "entrypoint": "app", "ref": "r"}}, "encoding"),
    ({"volumes": [{"mount": "relative/path", "name": "x", "persistence": "host"}]}, "mount"),
    ({"volumes": [{"mount": "/opt/code", "name": "x", "persistence": "host"}]}, "/opt/code"),
    ({"volumes": [{"mount": "/a", "name": "x"}, {"mount": "/a", "ephemeral": True}]}, "share"),
    ({"code": {"encoding": "zip", "ref": "r"}}, "entrypoint"),
])
def test_program_spec_rejects_what_it_cannot_run(change: dict[str, Any], needle: str) -> None:
    content = {**program("ref1"), **change}
    with pytest.raises(ProgramError, match=needle):
        ProgramSpec.parse(content)


async def test_harness_http_server_speaks_http11(tmp_path: Path) -> None:
    """The VM-side server, in process: keep-alive, chunked bodies, streamed responses."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = await receive()
        if scope["path"] == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for part in (b"one,", b"two,", b"three"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["path"] == "/boom":
            raise RuntimeError("boom")
        body = json.dumps({"path": scope["path"], "raw": scope["raw_path"].decode(),
                           "query": scope["query_string"].decode(),
                           "body": request["body"].decode()}).encode()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": body})

    path = tmp_path / "h.sock"
    server = await asyncio.start_unix_server(
        lambda r, w: serve_connection(http_handler(app, {}), r, w), path=str(path))
    try:
        transport = httpx.AsyncHTTPTransport(uds=str(path))
        async with httpx.AsyncClient(transport=transport, base_url="http://vm") as client:
            response = await client.post("/a%20b/c?x=1&y=2", content=b"hello")
            assert response.status_code == 201
            assert response.json() == {"path": "/a b/c", "raw": "/a%20b/c",
                                       "query": "x=1&y=2", "body": "hello"}

            async def chunks() -> AsyncIterator[bytes]:
                yield b"chunked "
                yield b"body"

            response = await client.post("/c", content=chunks())
            assert response.json()["body"] == "chunked body"
            response = await client.get("/stream")
            assert (response.text, response.headers["transfer-encoding"]) == (
                "one,two,three", "chunked")
            response = await client.get("/boom")
            assert response.status_code == 500
    finally:
        server.close()


# -- real VMs -------------------------------------------------------------------------------


@pytest.mark.slow
async def test_program_answers_http_with_its_variables(
        crn: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISHNET_CRN_TEST_SECRET", "must-not-leak")
    item_hash = await crn.post(program(crn.zip_program("app"), variables={"GREETING": "hi"}))
    response = await crn.http.post(f"/vm/{item_hash}/echo?a=1", content=b"payload",
                                   headers={"x-custom": "v"})
    assert response.status_code == 200, response.text
    echoed = response.json()
    assert (echoed["method"], echoed["path"], echoed["query"], echoed["body"]) == (
        "POST", "/echo", "a=1", "payload")
    assert echoed["headers"]["x-custom"] == "v"
    assert response.headers["x-app"] == "yes"
    env = await crn.get_json(item_hash, "/env")
    assert env["GREETING"] == "hi"
    assert env["ALEPH_API_HOST"] == NODE_URL
    assert "FISHNET_CRN_TEST_SECRET" not in env
    assert set(env) <= {"GREETING", "ALEPH_API_HOST", "PATH", "LANG", "PYTHONDONTWRITEBYTECODE",
                        "PYTHONUNBUFFERED", "LC_CTYPE"}
    row = crn.vm(item_hash)
    assert row["state"] == "running" and row["memory"] == 128 and not row["persistent"]
    assert Path(row["log"]).name == f"{item_hash}.log"
    assert (await crn.http.get(f"/vm/{item_hash}/nothing-here")).status_code == 404


@pytest.mark.slow
async def test_vm_sees_only_stdlib_and_its_archive(crn: Harness) -> None:
    item_hash = await crn.post(program(crn.zip_program("app")))
    imports = await crn.get_json(item_hash, "/imports")
    assert imports["yaml"].startswith("ImportError"), imports  # installed in the venv, not here
    assert imports["httpx"].startswith("ImportError"), imports
    assert imports["sys_path"][0] == "/opt/code"
    assert not any("site-packages" in entry or "venv" in entry for entry in imports["sys_path"])


@pytest.mark.slow
async def test_squashfs_code_and_packages_volume(crn: Harness) -> None:
    code_ref, packages_ref = "store-sqfs-code", "store-sqfs-packages"
    crn.source.files[code_ref] = make_squashfs(crn.tmp / "code.sqfs", {"main.py": APP})
    crn.source.files[packages_ref] = make_squashfs(
        crn.tmp / "packages.sqfs", {"extra_pkg.py": "ORIGIN = 'packages volume'\n"})
    item_hash = await crn.post(program(code_ref, encoding="squashfs", volumes=[
        {"mount": "/opt/packages", "ref": packages_ref, "use_latest": True}]))
    imports = await crn.get_json(item_hash, "/imports")
    assert imports["extra_pkg"] == "packages volume"
    assert imports["sys_path"][:2] == ["/opt/code", "/opt/packages"]


@pytest.mark.slow
async def test_subscribed_messages_arrive_as_events(crn: Harness) -> None:
    item_hash = await crn.post(program(
        crn.zip_program("listener"), subscriptions=[{"channel": "WANTED"}]))
    wanted = message("POST", {"type": "ping", "n": 1}, channel="WANTED")
    await crn.crn.notify(wanted)  # boots the (non-persistent) program on demand
    events = await eventually(lambda: crn.get_json(item_hash, "/events"), lambda e: len(e) == 1,
                              what="the first event")
    assert events[0]["item_hash"] == wanted["item_hash"]
    assert events[0]["content"] == {"type": "ping", "n": 1}
    await crn.crn.notify(message("POST", {"type": "ping", "n": 2}, channel="UNWANTED"))
    await crn.crn.notify(message("POST", {"type": "ping", "n": 3}, channel="WANTED"))
    events = await eventually(lambda: crn.get_json(item_hash, "/events"), lambda e: len(e) >= 2,
                              what="the second event")
    assert [e["content"]["n"] for e in events] == [1, 3]


@pytest.mark.slow
async def test_persistent_volume_survives_vm_and_node_restarts(crn: Harness) -> None:
    volume = {"mount": "/data/identity", "persistence": "host", "name": "identity",
              "size_mib": 1}
    scratch = {"mount": "/data/scratch", "ephemeral": True, "size_mib": 1}
    item_hash = await crn.post(program(crn.zip_program("vol"), persistent=True,
                                       volumes=[volume, scratch]))
    await eventually(lambda: crn.state(item_hash), lambda s: s == "running", what="boot")
    for mount in ("/data/identity", "/data/scratch"):
        response = await crn.http.post(f"/vm/{item_hash}/write?{mount}", content=b"kept")
        assert response.json() == "written"
    await crn.restart()  # persistent: boots again at start()
    assert await crn.get_json(item_hash, "/read?/data/identity") == "kept"
    assert (await crn.get_json(item_hash, "/read?/data/scratch")).startswith("missing")
    kept = crn.tmp / "devnet" / "crn" / "volumes" / item_hash / "identity" / "note.txt"
    assert kept.read_text() == "kept"


@pytest.mark.slow
async def test_forget_stops_the_vm_and_404s(crn: Harness) -> None:
    item_hash = await crn.post(program(crn.zip_program("doomed"), persistent=True))
    await eventually(lambda: crn.state(item_hash), lambda s: s == "running", what="boot")
    pid = crn.vm(item_hash)["pid"]
    await crn.forget(item_hash)
    response = await crn.http.get(f"/vm/{item_hash}/echo")
    assert response.status_code == 404
    await eventually(lambda: asyncio.sleep(0, pid_alive(pid)), lambda alive: not alive,
                     timeout=10, what="the forgotten VM's process to exit")
    assert crn.vm(item_hash)["state"] == "stopped"
    assert "forgotten" in crn.vm(item_hash)["reason"]
    assert (await crn.http.get("/vm/" + "0" * 64 + "/echo")).status_code == 404


@pytest.mark.slow
async def test_crash_is_reported_and_next_request_reboots(crn: Harness) -> None:
    item_hash = await crn.post(program(crn.zip_program("crashy")))
    assert (await crn.http.get(f"/vm/{item_hash}/echo")).status_code == 200
    response = await crn.http.get(f"/vm/{item_hash}/crash")
    assert response.status_code == 502
    await eventually(lambda: crn.state(item_hash), lambda s: s == "failed", what="failed state")
    row = crn.vm(item_hash)
    assert "exited with code 3" in row["reason"]
    assert "crashing on purpose" in row["log_tail"]
    assert (await crn.http.get(f"/vm/{item_hash}/echo")).status_code == 200


@pytest.mark.slow
async def test_unbootable_programs_answer_503_with_the_reason(crn: Harness) -> None:
    missing = await crn.post(program("store-that-does-not-exist"))
    response = await crn.http.get(f"/vm/{missing}/echo")
    assert response.status_code == 503
    assert "store-that-does-not-exist" in response.json()["reason"]
    broken = await crn.post(program(crn.zip_program("broken", {"main.py": "import yaml\n"})))
    response = await crn.http.get(f"/vm/{broken}/echo")
    assert response.status_code == 503
    body = response.json()
    assert "No module named 'yaml'" in body["reason"]
    assert "ModuleNotFoundError" in body["log_tail"]
    assert crn.vm(broken)["state"] == "failed"
    unmountable = await crn.post(program(crn.zip_program("unmountable"), volumes=[
        {"mount": "/proc/fishnet-devnet-test", "ephemeral": True, "size_mib": 1}]))
    response = await crn.http.get(f"/vm/{unmountable}/echo")
    assert response.status_code == 503
    assert "/proc/fishnet-devnet-test" in response.json()["reason"]
    assert "/proc/fishnet-devnet-test" in crn.vm(unmountable)["reason"]


@pytest.mark.slow
async def test_code_amend_restarts_a_persistent_program(crn: Harness) -> None:
    ref = crn.zip_program("amended")
    item_hash = await crn.post(program(ref, persistent=True, use_latest=True))
    await eventually(lambda: crn.state(item_hash), lambda s: s == "running", what="boot")
    assert await crn.get_json(item_hash, "/version") == "v1"
    crn.source.latest[ref] = make_zip(crn.tmp / "v2.zip",
                                      {"main.py": APP.replace('"v1"', '"v2"')})
    await crn.crn.notify(message("STORE", {"ref": ref, "item_hash": "f" * 64,
                                           "item_type": "storage", "address": "0xabc"}))
    await eventually(lambda: crn.get_json(item_hash, "/version"), lambda v: v == "v2",
                     what="the amended code")


@pytest.mark.slow
async def test_memory_budget_makes_the_second_program_wait(tight_crn: Harness) -> None:
    crn = tight_crn
    first = await crn.post(program(crn.zip_program("first"), persistent=True))
    await eventually(lambda: crn.state(first), lambda s: s == "running", what="first boot")
    second = await crn.post(program(crn.zip_program("second"), persistent=True))
    assert crn.vm(second)["state"] == "waiting"
    assert "memory" in crn.vm(second)["reason"]
    response = await crn.http.get(f"/vm/{second}/echo")
    assert response.status_code == 503 and "memory" in response.json()["reason"]
    huge = await crn.post(program(crn.zip_program("huge"), memory=4096))
    response = await crn.http.get(f"/vm/{huge}/echo")
    assert response.status_code == 503 and "budget" in response.json()["reason"]
    await crn.forget(first)  # frees the memory: the waiting program boots by itself
    await eventually(lambda: crn.state(second), lambda s: s == "running", what="second boot")
    assert (await crn.http.get(f"/vm/{second}/echo")).status_code == 200


@pytest.mark.slow
async def test_idle_on_demand_vm_makes_room_for_another(tight_crn: Harness) -> None:
    crn = tight_crn
    first = await crn.post(program(crn.zip_program("first")))
    second = await crn.post(program(crn.zip_program("second")))
    assert (await crn.http.get(f"/vm/{first}/echo")).status_code == 200
    assert (await crn.http.get(f"/vm/{second}/echo")).status_code == 200
    assert crn.vm(first)["state"] == "stopped"
    assert "make room" in crn.vm(first)["reason"]
    assert crn.vm(second)["state"] == "running"


@pytest.mark.slow
async def test_idle_vm_stops_but_never_during_a_request(tight_crn: Harness) -> None:
    crn = tight_crn  # idle_timeout = 1 s
    item_hash = await crn.post(program(crn.zip_program("idler")))
    assert crn.vm(item_hash)["state"] == "stopped"  # not persistent: no boot until asked
    response = await crn.http.get(f"/vm/{item_hash}/slow?2.5")  # longer than the idle timeout
    assert response.status_code == 200 and response.json() == "slept"
    assert crn.vm(item_hash)["state"] == "running"
    pid = crn.vm(item_hash)["pid"]
    await eventually(lambda: crn.state(item_hash), lambda s: s == "stopped", timeout=10,
                     what="the idle stop")
    assert "idle" in crn.vm(item_hash)["reason"]
    await eventually(lambda: asyncio.sleep(0, pid_alive(pid)), lambda alive: not alive,
                     timeout=10, what="the idle VM's process to exit")
    assert (await crn.http.get(f"/vm/{item_hash}/echo")).status_code == 200  # boots again


@pytest.mark.slow
async def test_stop_ends_every_vm(tmp_path: Path) -> None:
    harness = Harness(tmp_path, FakeSource())
    await harness.crn.start()
    hashes = [await harness.post(program(harness.zip_program(f"p{i}"), persistent=True))
              for i in range(2)]
    for item_hash in hashes:
        await eventually(lambda h=item_hash: harness.state(h), lambda s: s == "running",
                         what="boot")
    pids = [harness.vm(h)["pid"] for h in hashes]
    await harness.crn.stop()
    await harness.crn.stop()  # idempotent
    assert not any(pid_alive(pid) for pid in pids)
    assert {harness.vm(h)["state"] for h in hashes} == {"stopped"}
    await harness.http.aclose()

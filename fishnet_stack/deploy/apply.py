"""Carry out a :class:`Plan`, in DESIGN 4.3's order, journaling every message before sending.

Order: STOREs (code, packages) -> PROGRAMs -> wait for ``/health`` -> read ``/identity`` ->
authorise (security aggregate, old + new) -> manifest (checked before and read back after) ->
revoke what is no longer active -> FORGETs (gc; destroy forgets first). Each step that is
already done on the network is skipped, because the plan was made from the network; a step
signed but not known to be sent is resent from the journal, never re-signed.

Failure modes: :class:`NodeUnavailable` after retries, :class:`MessageRejected`,
:class:`VmUnhealthy`, :class:`ConflictError` (another writer changed the manifest). In every case
the journal is kept and the next ``apply`` converges from whatever was sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx

from fishnet_stack.aleph.client import AlephClient, SignedMessage
from fishnet_stack.aleph.programs import push_file
from fishnet_stack.aleph.security import SECURITY_KEY, owned_addresses, rewrite_authorizations
from fishnet_stack.deploy.journal import CrashPoint, Journal
from fishnet_stack.deploy.plantypes import Plan
from fishnet_stack.deploy.programs import program_message_content, store_metadata
from fishnet_stack.deploy.vms import wait_healthy, wait_identity
from fishnet_stack.errors import ConflictError
from fishnet_stack.manifest import ExecutorEntry, Manifest, Release, manifest_key, vm_url

__all__ = ["ApplyOptions", "ApplyResult", "IdentitySource", "apply_plan"]

Payload = Callable[[], bytes]
# (item hashes of the new release, their roles) -> {item_hash: VM address}
IdentitySource = Callable[[list[str], list[str]], Awaitable[dict[str, str]]]


@dataclass
class ApplyOptions:
    """How to apply: where, with what, and how patiently."""

    client: AlephClient
    channel: str
    node_url: str
    devnet: bool
    journal: Journal
    payloads: Mapping[str, Payload] = field(default_factory=dict)  # "code:<role>", "packages:…"
    crash: CrashPoint | None = None
    health_timeout: float = 180.0
    echo: Callable[[str], None] = lambda _: None
    clock: Callable[[], float] = time.time
    # Where VM addresses come from; None: wait for /health, then read /identity (DESIGN 4.3).
    identities: IdentitySource | None = None


@dataclass
class ApplyResult:
    sent: int = 0
    release: int | None = None
    created: list[str] = field(default_factory=list)
    manifest: Manifest | None = None


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:32]


class _Applier:
    def __init__(self, plan: Plan, options: ApplyOptions) -> None:
        self.plan = plan
        self.o = options
        self.result = ApplyResult(release=plan.release)

    async def send(self, step: str, sign: Callable[[], Awaitable[SignedMessage]],
                   payload: Payload | None = None) -> SignedMessage:
        signed = self.o.journal.get(step)
        if signed is None:
            signed = await sign()
            self.o.journal.record(step, signed)
        if self.o.crash:
            self.o.crash.check(self.result.sent + 1, before=True)
        if payload is not None:
            await push_file(self.o.client, signed, payload())
        else:
            await self.o.client.send(signed)
        self.result.sent += 1
        if self.o.crash:
            self.o.crash.check(self.result.sent, before=False)
        return signed

    async def stores(self) -> dict[str, str]:
        refs: dict[str, str] = {}
        for store in self.plan.stores:
            name = f"{store.kind}:{store.role if store.kind == 'code' else store.key}"
            if store.item_hash is not None:
                refs[name] = store.item_hash
                continue
            content = {"item_type": "storage", "item_hash": store.file_hash,
                       "metadata": store_metadata(self.plan.stack, store)}
            self.o.echo(f"uploading {store.kind} for {store.role} ({store.key[:10]})")
            signed = await self.send(
                f"store:{store.kind}:{store.role}:{store.key}",
                partial(self.o.client.sign, "STORE", content, self.o.channel),
                self.o.payloads[name])
            refs[name] = signed.item_hash
        return refs

    async def programs(self, refs: dict[str, str]) -> list[str]:
        hashes: list[str] = []
        assert self.plan.release is not None
        for planned in self.plan.programs:
            if planned.item_hash is not None:
                hashes.append(planned.item_hash)
                continue
            want = planned.program
            content = program_message_content(
                self.plan.stack, self.plan.owner, want, self.plan.release,
                code_ref=refs[f"code:{want.role}"],
                packages_ref=refs.get(f"packages:{want.packages_lock}")
                if want.packages_lock else None)
            signed = await self.send(
                f"program:{want.spec_hash}:{self.plan.release}",
                partial(self.o.client.sign, "PROGRAM", content, self.o.channel))
            self.o.echo(f"created {want.slot}: {signed.item_hash}")
            self.result.created.append(signed.item_hash)
            hashes.append(signed.item_hash)
        return hashes

    async def identities(self, hashes: list[str]) -> dict[str, str]:
        trees = {p.program.role: p.program.tree_hash for p in self.plan.programs}
        roles = [p.program.role for p in self.plan.programs]
        if self.o.identities is not None:
            return await self.o.identities(hashes, roles)
        async with httpx.AsyncClient(timeout=30) as http:
            async def one(item_hash: str, role: str) -> tuple[str, str]:
                url = vm_url(self.o.node_url, item_hash, self.o.devnet)
                await wait_healthy(http, url, trees[role], self.o.health_timeout)
                address = await wait_identity(http, url, self.o.health_timeout)
                self.o.echo(f"healthy: {item_hash[:10]} ({role}) as {address}")
                return item_hash, address
            pairs = await asyncio.gather(*(one(h, r) for h, r in zip(hashes, roles,
                                                                       strict=True)))
        return dict(pairs)

    async def authorize(self, addresses: set[str], keep_owned: bool) -> None:
        security = await self.o.client.aggregate(self.plan.owner, SECURITY_KEY) or {}
        raw = security.get("authorizations")
        entries = [e for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []
        wanted = addresses | (owned_addresses(entries, self.plan.stack) if keep_owned else set())
        updated = rewrite_authorizations(entries, self.plan.stack, self.o.channel, wanted)
        if updated == entries:
            return
        content = {"key": SECURITY_KEY, "content": {"authorizations": updated}}
        await self.send(f"security:{_digest(updated)}",
                        lambda: self.o.client.sign("AGGREGATE", content, self.o.channel))

    async def check_unchanged(self) -> None:
        """Refuse (ConflictError) when the manifest moved since the plan was made."""
        before = await self.o.client.aggregate(self.plan.owner, manifest_key(self.plan.stack))
        base = self.plan.base.manifest
        if (base.to_json() if base else None) != (Manifest.parse(before).to_json()
                                                  if before else None):
            raise ConflictError(
                f"the manifest of {self.plan.stack} changed while applying (another apply?): "
                f"now serial {before and before.get('serial')}, active "
                f"{before and before.get('active')}; run plan again")

    async def write_manifest(self, manifest: Manifest) -> None:
        key = manifest_key(self.plan.stack)
        await self.check_unchanged()
        value = manifest.to_json()
        stable = {**value, "releases": {n: {**r, "created": None}
                                        for n, r in value["releases"].items()}}
        signed = await self.send(
            f"manifest:{_digest(stable)}",
            lambda: self.o.client.sign("AGGREGATE", {"key": key, "content": value},
                                       self.o.channel))
        sent = Manifest.parse(signed.content["content"])
        after = await self.o.client.aggregate(self.plan.owner, key)
        winner = Manifest.parse(after) if after else None
        if winner is None or winner.to_json() != sent.to_json():
            raise ConflictError(
                f"another apply of {self.plan.stack} won: the manifest now has serial "
                f"{winner and winner.serial}, active release {winner and winner.active}; "
                "this apply's release was not activated; run plan again")
        self.result.manifest = sent

    async def verify_manifest(self) -> None:
        """Last look: a concurrent writer whose manifest landed after our read-back wins
        (aggregates merge by content time); say so rather than report success."""
        expected = self.result.manifest
        after = await self.o.client.aggregate(self.plan.owner, manifest_key(self.plan.stack))
        if expected is not None and (after is None or
                                     Manifest.parse(after).to_json() != expected.to_json()):
            winner = Manifest.parse(after) if after else None
            raise ConflictError(
                f"another apply of {self.plan.stack} won: the manifest now has serial "
                f"{winner and winner.serial}, active release {winner and winner.active}; "
                "run plan again")

    async def forget(self) -> None:
        base = self.plan.base
        programs = [h for h in self.plan.forget if base.program(h) is not None]
        stores = [h for h in self.plan.forget if h not in programs]
        for hashes in (programs, stores):
            if hashes:
                content = {"hashes": sorted(hashes), "reason": f"fishnet-stack "
                           f"{self.plan.operation} {self.plan.stack}"}
                await self.send(f"forget:{_digest(sorted(hashes))}",
                                partial(self.o.client.sign, "FORGET", content, self.o.channel))

    async def run(self) -> ApplyResult:
        plan, base = self.plan, self.plan.base.manifest
        empty = Manifest(serial=0, active=None, releases={})
        if plan.operation == "apply" and plan.release is not None:
            hashes = await self.programs(await self.stores())
            identities = await self.identities(hashes)
            programs = list(zip(plan.programs, hashes, strict=True))
            release = Release(
                versions=plan.versions, created=self.o.clock(),
                api=tuple(h for p, h in programs if p.program.role == "api"),
                executors=tuple(ExecutorEntry(h, (p.program.timeslice or {}).get("start"),
                                              (p.program.timeslice or {}).get("end"))
                                for p, h in programs if p.program.role == "executor"),
                authorized=tuple(sorted(set(identities.values()))), identities=identities)
            await self.check_unchanged()
            await self.authorize(set(release.authorized), keep_owned=True)
            await self.write_manifest((base or empty).activate(plan.release, release))
            await self.authorize(set(release.authorized), keep_owned=False)
            await self.verify_manifest()
        elif plan.operation == "rollback" and plan.release is not None and base is not None:
            await self.check_unchanged()
            await self.authorize(set(plan.authorize or ()), keep_owned=True)
            await self.write_manifest(base.activate(plan.release))
            await self.authorize(set(plan.authorize or ()), keep_owned=False)
            await self.verify_manifest()
        elif plan.operation == "destroy":
            await self.forget()
            if base is not None and (base.releases or base.active is not None):
                await self.write_manifest(Manifest(serial=base.serial, active=None, releases={}))
            await self.authorize(set(), keep_owned=False)
        elif plan.operation == "gc" and base is not None and plan.drop_releases:
            kept = {n: r for n, r in base.releases.items() if n not in plan.drop_releases}
            await self.write_manifest(Manifest(base.serial, base.active, kept))
            await self.authorize(set(plan.authorize or ()), keep_owned=False)
            await self.forget()
        elif plan.authorize is not None:
            await self.authorize(set(plan.authorize), keep_owned=False)
        self.o.journal.clear()
        return self.result


async def apply_plan(plan: Plan, options: ApplyOptions) -> ApplyResult:
    """Execute ``plan`` (see module docstring); returns what was sent. A plan with no changes
    sends nothing (and drops a leftover journal: the network already matches)."""
    if not plan.has_changes:
        options.journal.clear()
        return ApplyResult()
    return await _Applier(plan, options).run()

"""The executor's work loop (DESIGN sections 7.1 and 7.2).

An executor acts only on Executions stamped with its own release, only on trusted records
(content.address is the owner; sender is the owner or one of its delegates), and only on the
slice equal to its own timeslice. Triggers are ``aleph.message`` events and a periodic scan of
PENDING and RUNNING executions, so restarts and missed events lose nothing.

For each execution: claim the slice (append-only Claim, earliest live claim wins), load the
slice's data, run the algorithm in the sandbox, store a partial Result. The executor of the first
slice is the aggregator: it alone writes the Execution's status (RUNNING when it claims, SUCCESS
or FAILED when every slice has a partial Result), runs ``aggregate`` and writes the final Result.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from executor_app.coordination import ClaimView, PartialView, decide, winner
from executor_app.loader import load_frame
from executor_app.sandbox import (
    Limits,
    Outcome,
    Payload,
    Sandbox,
    decode,
    encode,
    encode_input,
)
from executor_app.slices import Timeslice, lookback_of, trim_to_slice
from fishnet_stack.aleph.client import AlephClient
from fishnet_stack.aleph.security import authorised_addresses
from fishnet_stack.chunks import ChunkStore
from fishnet_stack.errors import FishnetError
from fishnet_stack.model import (
    Algorithm,
    Claim,
    Execution,
    ExecutionStatus,
    Result,
    Slice,
    Timeseries,
)
from fishnet_stack.records import Record, Records

__all__ = ["Worker", "WorkerConfig", "algorithm_lookback"]

log = logging.getLogger("fishnet.executor")
MiB = 1024 * 1024


@dataclass(frozen=True)
class WorkerConfig:
    """What one executor is: its slice, release, owner and channel, and its sandbox ceiling."""

    owner: str
    channel: str
    release: int
    timeslice: Timeslice
    ceiling: Limits = field(default_factory=Limits)
    scan_interval: float = 2.0
    # Seconds a claim must age before its poster believes it won: a competing claim stamped
    # earlier may still be on its way to the node. It must exceed the time a claim takes from
    # being stamped to being processed.
    claim_settle: float = 0.3


def algorithm_lookback(algorithm: Algorithm) -> Any:
    """The algorithm's LOOKBACK: its record's ``lookback`` field, else a module-level
    ``LOOKBACK = "<offset>"`` string literal in its code (read with ``ast``, never executed)."""
    if algorithm.lookback:
        return lookback_of(algorithm.lookback)
    try:
        tree = ast.parse(algorithm.code)
    except SyntaxError:
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "LOOKBACK"
                                                 for t in node.targets)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return lookback_of(node.value.value)
    return None


def _same_slice(stamped: Slice, mine: Timeslice) -> bool:
    start = None if mine.start is None else mine.start.timestamp()
    end = None if mine.end is None else mine.end.timestamp()
    return stamped.start == start and stamped.end == end


def _limits(params: dict[str, Any] | None, ceiling: Limits) -> Limits:
    asked = (params or {}).get("limits")
    if not isinstance(asked, dict):
        return ceiling
    try:
        wanted = Limits(
            cpu_seconds=int(asked.get("cpu_seconds", ceiling.cpu_seconds)),
            wall_seconds=float(asked.get("wall_seconds", ceiling.wall_seconds)),
            memory_bytes=int(asked.get("memory_mib", ceiling.memory_bytes // MiB)) * MiB,
            output_bytes=int(asked.get("output_mib", ceiling.output_bytes // MiB)) * MiB,
        )
    except (TypeError, ValueError):
        return ceiling
    return wanted.capped(ceiling)


class Worker:
    """One executor: ``run()`` until cancelled; ``poke()`` on every relevant event."""

    def __init__(self, config: WorkerConfig, aleph: AlephClient, sandbox: Sandbox,
                 chunks: ChunkStore) -> None:
        assert aleph.account is not None, "an executor writes: its client needs its key"
        self.config = config
        self.aleph = aleph
        self.address = aleph.account.address
        self.records = Records(aleph, config.channel, config.owner)
        self.sandbox = sandbox
        self.chunks = chunks
        self._wake = asyncio.Event()
        self._busy: dict[str, asyncio.Task[None]] = {}
        self._done: set[str] = set()
        self._delegates: set[str] = set()
        self._waiters: set[asyncio.Event] = set()

    # -- triggers ----------------------------------------------------------------------------

    def poke(self) -> None:
        """Scan now (an event arrived); wake aggregators waiting for partial results."""
        self._wake.set()
        for waiter in self._waiters:
            waiter.set()

    async def _changes(self, timeout: float) -> None:
        """Return at the next poke, or after ``timeout`` seconds."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    def status(self) -> dict[str, Any]:
        return {"address": self.address, "release": self.config.release,
                "timeslice": self.config.timeslice.as_json(), "running": sorted(self._busy),
                "finished": len(self._done)}

    async def run(self) -> None:
        """Scan for work every ``scan_interval`` seconds, or sooner when poked."""
        while True:
            try:
                await self.scan()
            except FishnetError as exc:
                log.warning("scan failed, retrying: %s", exc)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.config.scan_interval)
            except TimeoutError:
                pass

    async def scan(self) -> None:
        """Start work on every trusted, unfinished execution of this release."""
        await self._refresh_delegates()
        executions = await self.records.filter(
            Execution, status__in=[ExecutionStatus.PENDING.value, ExecutionStatus.RUNNING.value])
        for execution in executions:
            key = str(execution.item_hash)
            if key in self._done or key in self._busy or not self._trusted(execution):
                continue
            if execution.release != self.config.release:
                continue  # another release's executors own it (DESIGN 7.1)
            index = self._my_slice(execution)
            if index is None:
                continue
            task = asyncio.create_task(self._work(execution, index))
            self._busy[key] = task
            task.add_done_callback(functools.partial(self._finished, key))

    def _finished(self, key: str, _task: asyncio.Task[None]) -> None:
        self._busy.pop(key, None)

    # -- trust -------------------------------------------------------------------------------

    async def _refresh_delegates(self) -> None:
        security = await self.aleph.aggregate(self.config.owner, "security") or {}
        self._delegates = authorised_addresses(security.get("authorizations"),
                                               self.config.channel)

    def _trusted(self, record: Record) -> bool:
        signer = (record.signer or "").lower()
        return signer == self.config.owner.lower() or signer in self._delegates

    def _trusted_only(self, records: Iterable[Record]) -> list[Any]:
        return [r for r in records if self._trusted(r)]

    def _my_slice(self, execution: Execution) -> int | None:
        for index, stamped in enumerate(execution.slices):
            if _same_slice(stamped, self.config.timeslice):
                return index
        return None

    # -- one execution -----------------------------------------------------------------------

    async def _work(self, execution: Execution, index: int) -> None:
        """Compute this executor's slice if it wins the claim; as the aggregator (winner of the
        first slice), finish the execution. Returns early, to be retried by a later scan, while
        another live executor holds the claim (so a dead one's lease can be taken over)."""
        execution_id = str(execution.item_hash)
        try:
            computed = any(p.slice == index for p in await self._partials(execution_id))
            if not computed:
                if not await self._hold(execution_id, index):
                    return
                if index == 0 and execution.status == ExecutionStatus.PENDING:
                    execution.status = ExecutionStatus.RUNNING
                    await self.records.save(execution)
                await self._compute(execution, index)
            if index == 0 and not await self._aggregate(execution):
                return
            self._done.add(execution_id)
        except FishnetError as exc:
            log.warning("execution %s slice %d: %s (will retry)", execution_id, index, exc)

    async def _partials(self, execution_id: str) -> list[Result]:
        found = await self.records.filter(Result, executionID=execution_id)
        return self._trusted_only(r for r in found if r.slice is not None)

    async def _hold(self, execution_id: str, index: int) -> bool:
        """Whether this executor holds the slice's claim now: it wins when the earliest live
        claim is its own (posted now, or before a restart); a claim about to expire is renewed
        so that a long-running holder never leaves a gap another executor could take."""
        lease = self.config.ceiling.wall_seconds + 10  # outlives the longest allowed run
        current = await self._winner(execution_id, index)
        if current is None or (current.executor.lower() == self.address.lower()
                               and current.lease_until - time.time() < lease / 2):
            claim = await self.records.save(Claim(executionID=execution_id, slice=index,
                                                  executor=self.address,
                                                  expires=time.time() + lease))
            settled = float(claim.timestamp or 0) + self.config.claim_settle
            await asyncio.sleep(max(0.0, settled - time.time()))
            current = await self._winner(execution_id, index)
        return current is not None and current.executor.lower() == self.address.lower()

    async def _winner(self, execution_id: str, index: int) -> ClaimView | None:
        claims = self._trusted_only(await self.records.filter(Claim, executionID=execution_id))
        views = [ClaimView(str(c.item_hash), c.slice, c.executor, float(c.timestamp or 0),
                           c.expires) for c in claims]
        return winner(views, index, time.time())

    async def _compute(self, execution: Execution, index: int) -> None:
        outcome = await self._run_slice(execution, index)
        execution_id = str(execution.item_hash)
        # Post only while still the holder and first: a result is never duplicated, even if a
        # competing claim arrived later than claim_settle allowed for.
        if any(p.slice == index for p in await self._partials(execution_id)):
            return
        current = await self._winner(execution_id, index)
        if current is None or current.executor.lower() != self.address.lower():
            log.warning("execution %s slice %d: lost the claim while computing; result dropped",
                        execution_id, index)
            return
        result = Result(executionID=str(execution.item_hash), owner=execution.owner,
                        executorVM=self.address, slice=index,
                        status="SUCCESS" if outcome.ok else "FAILED", error=outcome.error)
        result.isolation = outcome.isolation  # type: ignore[attr-defined]
        if outcome.payload is not None:
            await self._attach(result, outcome.payload)
        await self.records.save(result)

    async def _run_slice(self, execution: Execution, index: int) -> Outcome:
        algorithm = await self.records.fetch(Algorithm, execution.algorithmID)
        if algorithm is None or not self._trusted(algorithm):
            return Outcome("error", error=f"algorithm {execution.algorithmID} is not available")
        try:
            lookback = algorithm_lookback(algorithm)
        except ValueError as exc:
            return Outcome("error", error=str(exc))
        ids = [i.timeseriesID for i in execution.inputs]
        series = {str(t.item_hash): t for t in await self.records.fetch_many(Timeseries, ids)}
        window = self.config.timeslice.window(lookback)
        try:
            frame = await load_frame(execution, series, window, self.chunks)
        except (FishnetError, ValueError) as exc:
            return Outcome("error", error=f"loading data: {exc}")
        outcome = await self.sandbox.run(algorithm.code, "run", execution.params or {},
                                         [encode_input(frame)], _limits(execution.params,
                                                                  self.config.ceiling))
        if outcome.ok and lookback is not None and outcome.payload is not None:
            trimmed = trim_to_slice(decode(outcome.payload), self.config.timeslice)
            outcome = Outcome("ok", encode(trimmed), None, outcome.isolation,
                              outcome.cpu_seconds, outcome.wall_seconds)
        return outcome

    async def _attach(self, result: Result, payload: Payload) -> None:
        stored = await self.aleph.upload(payload.data, self.config.channel,
                                         extra={"address": self.config.owner})
        result.dataHash = str(stored.content["item_hash"])
        result.format = "parquet" if payload.kind in ("dataframe", "series") else "json"
        result.kind = payload.kind  # type: ignore[attr-defined]

    async def _aggregate(self, execution: Execution) -> bool:
        """As the aggregator: wait for every slice's partial Result, then finish. Returns False
        when another executor holds the first slice's claim (it aggregates), True once the
        execution is finished."""
        execution_id = str(execution.item_hash)
        while True:
            current = await self.records.fetch(Execution, execution_id)
            if current is None or current.status in (ExecutionStatus.SUCCESS,
                                                     ExecutionStatus.FAILED):
                return True
            if not await self._hold(execution_id, 0):
                return False
            partials = await self._partials(execution_id)
            decision = decide(len(execution.slices), [
                PartialView(int(p.slice or 0), p.status, p.error, float(p.timestamp or 0))
                for p in partials])
            if decision.action == "wait":
                await self._changes(self.config.scan_interval)
                continue
            final = Result(executionID=execution_id, owner=execution.owner,
                           executorVM=self.address)
            if decision.action == "fail":
                final.status, final.error = "FAILED", decision.reason
            else:
                outcome = await self._combine(execution, partials)
                final.status = "SUCCESS" if outcome.ok else "FAILED"
                final.error = None if outcome.ok else f"aggregate: {outcome.error}"
                if outcome.payload is not None:
                    await self._attach(final, outcome.payload)
            await self.records.save(final)
            current.status = (ExecutionStatus.SUCCESS if final.status == "SUCCESS"
                              else ExecutionStatus.FAILED)
            current.resultID = final.item_hash
            await self.records.save(current)
            return True

    async def _combine(self, execution: Execution, partials: list[Result]) -> Outcome:
        algorithm = await self.records.fetch(Algorithm, execution.algorithmID)
        if algorithm is None:
            return Outcome("error", error=f"algorithm {execution.algorithmID} is not available")
        first: dict[int, Result] = {}
        for partial in sorted(partials, key=lambda p: float(p.timestamp or 0)):
            first.setdefault(int(partial.slice or 0), partial)
        payloads = []
        for index in range(len(execution.slices)):
            partial = first[index]
            kind = getattr(partial, "kind", None) or ("json" if partial.format == "json"
                                                      else "dataframe")
            data = await self.aleph.download(str(partial.dataHash)) if partial.dataHash else None
            payloads.append(Payload(kind, data or b"null"))
        return await self.sandbox.run(algorithm.code, "aggregate", execution.params or {},
                                      payloads, _limits(execution.params, self.config.ceiling))

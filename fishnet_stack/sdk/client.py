"""``Fishnet``: Python access to a deployed Fishnet, pandas in and out.

>>> from fishnet_stack.sdk import Fishnet, Wallet
>>> fishnet = Fishnet.from_stack("stacks/local.yaml", wallet=Wallet.from_file("me.key"))
>>> [series] = fishnet.timeseries.upload(prices)             # a DataFrame, Series or CSV path
>>> dataset = fishnet.datasets.create("prices", [series], price="0")
>>> algorithm = fishnet.algorithms.register(my_module.run)   # the function's module source
>>> result = fishnet.executions.run(dataset, algorithm, params={"window": 30})
>>> result.to_pandas()
"""

from __future__ import annotations

import hashlib
import inspect
import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fishnet_stack.aleph.accounts import load_key_env, load_key_file
from fishnet_stack.aleph.reader import NodeReader
from fishnet_stack.devnet.config import default_data_dir
from fishnet_stack.devnet.daemon import find_devnet
from fishnet_stack.errors import ConfigError, ExecutionFailed
from fishnet_stack.sdk.discovery import Deployment, discover
from fishnet_stack.sdk.results import ExecutionResult
from fishnet_stack.sdk.transport import Transport
from fishnet_stack.sdk.wallet import Wallet
from fishnet_stack.stackfile import load_stack

__all__ = ["Fishnet"]

Record = dict[str, Any]


def _id(value: str | Record) -> str:
    return value if isinstance(value, str) else str(value["item_hash"])


class _Resource:
    def __init__(self, fishnet: Fishnet) -> None:
        self._fishnet = fishnet
        self._t = fishnet.transport


class Timeseries(_Resource):
    def upload(self, data: pd.DataFrame | pd.Series | str | Path, *, name: str | None = None,
               desc: str | None = None) -> list[Record]:
        """Create timeseries from a DataFrame (one per numeric column, time index), a Series
        (named by ``name`` or its own name) or a CSV file; sent as a Parquet or CSV upload.

        >>> fishnet.timeseries.upload(pd.read_csv("ohlcv.csv", index_col=0, parse_dates=True))
        """
        if isinstance(data, str | Path):
            payload, filename = Path(data).read_bytes(), Path(data).name
        else:
            frame = data.to_frame(name or data.name or "value") if isinstance(data, pd.Series) \
                else data
            table = frame.rename_axis("timestamp").reset_index()
            buffer = io.BytesIO()
            table.to_parquet(buffer, index=False)
            payload, filename = buffer.getvalue(), "upload.parquet"
        body, content_type = _multipart("file", filename, payload,
                                        {"desc": desc} if desc else {})
        return list(self._t.json("POST", "/timeseries/upload", content=body,
                                 content_type=content_type))

    def get(self, timeseries_id: str) -> Record:
        """Metadata of one timeseries (name, owner, stats, chunks)."""
        return dict(self._t.json("GET", f"/timeseries/{timeseries_id}", signed=False))


class Datasets(_Resource):
    def create(self, name: str, timeseries: Sequence[str | Record], *, price: str = "0",
               desc: str | None = None) -> Record:
        """A dataset of ``timeseries`` (ids or records); ``price="0"`` makes it free.

        >>> fishnet.datasets.create("crypto", series, price="0")
        """
        body = {"name": name, "timeseriesIDs": [_id(t) for t in timeseries], "price": price}
        if desc is not None:
            body["desc"] = desc
        return dict(self._t.json("PUT", "/datasets", json_body=body))

    def list(self, *, by: str | None = None, view_as: str | None = None, page: int = 1,
             page_size: int = 100) -> list[Record]:
        """Datasets, optionally of one owner (``by``), with ``permission_status`` as seen by
        ``view_as`` (default: this wallet)."""
        viewer = view_as or (self._fishnet.wallet.address if self._fishnet.wallet else None)
        return list(self._t.json("GET", "/datasets", signed=False, params={
            "by": by, "view_as": viewer, "page": page, "page_size": page_size}))

    def get(self, dataset_id: str) -> Record:
        return dict(self._t.json("GET", f"/datasets/{dataset_id}", signed=False))

    def download(self, dataset: str | Record) -> pd.DataFrame:
        """The dataset's values (needs access): a UTC-indexed frame, one column per series.

        Raises :class:`~fishnet_stack.errors.PermissionDenied` without a grant.
        """
        text = self._t.request("GET", f"/datasets/{_id(dataset)}/timeseries/csv").text
        frame = pd.read_csv(io.StringIO(text))
        frame.index = pd.to_datetime(frame.pop("timestamp"), utc=True, format="ISO8601")
        return frame


class Algorithms(_Resource):
    def register(self, code: str | Callable[..., Any] | ModuleType, *, name: str | None = None,
                 desc: str = "", lookback: str | None = None) -> Record:
        """Register an algorithm from source text, a module, or a function (its whole module's
        source is sent, read with ``inspect``: define ``run`` and optionally ``aggregate`` and
        ``LOOKBACK`` there). Code is public on the network.

        >>> fishnet.algorithms.register(volatility.run, lookback="30D")
        """
        if isinstance(code, str):
            source, default_name = code, "algorithm"
        else:
            module = code if isinstance(code, ModuleType) else inspect.getmodule(code)
            if module is None:
                raise ConfigError(f"cannot find the module of {code!r}; pass its source text")
            source = inspect.getsource(module)
            default_name = getattr(code, "__name__", module.__name__).rsplit(".", 1)[-1]
        body: Record = {"name": name or default_name, "desc": desc, "code": source}
        if lookback is not None:
            body["lookback"] = lookback
        return dict(self._t.json("PUT", "/algorithms", json_body=body))

    def list(self) -> list[Record]:
        return list(self._t.json("GET", "/algorithms", signed=False))

    def get(self, algorithm_id: str) -> Record:
        return dict(self._t.json("GET", f"/algorithms/{algorithm_id}", signed=False))


class Executions(_Resource):
    def request(self, dataset: str | Record, algorithm: str | Record,
                params: dict[str, Any] | None = None) -> Record:
        """Ask for an execution; returns ``{"execution", "permissionRequests",
        "unavailableTimeseries"}`` at once (REQUESTED until the data owners approve)."""
        return dict(self._t.json("POST", "/executions", json_body={
            "algorithmID": _id(algorithm), "datasetID": _id(dataset), "params": params or {}}))

    def get(self, execution_id: str) -> Record:
        return dict(self._t.json("GET", f"/executions/{execution_id}", signed=False))

    def run(self, dataset: str | Record, algorithm: str | Record,
            params: dict[str, Any] | None = None, *, wait: bool = True, timeout: float = 3600,
            progress: bool = True) -> ExecutionResult | Record:
        """Request an execution and (``wait=True``) follow it to its result, with a progress
        line: waiting for approval, queued, running. Raises :class:`ExecutionFailed` (with the
        executors' reason) when it ends FAILED or DENIED.

        >>> result = fishnet.executions.run(dataset, algorithm, {"window": 30})
        """
        answer = self.request(dataset, algorithm, params)
        if not wait:
            return answer
        return self.wait(str(answer["execution"]["item_hash"]), timeout=timeout,
                         progress=progress)

    def wait(self, execution_id: str, *, timeout: float = 3600,
             progress: bool = True) -> ExecutionResult:
        """Follow an execution until it ends; its result, or :class:`ExecutionFailed`."""
        deadline = time.monotonic() + timeout
        labels = {"REQUESTED": "waiting for the data owners' approval", "PENDING": "queued",
                  "RUNNING": "running on the executors"}
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      disable=not progress, transient=True) as bar:
            task = bar.add_task(f"execution {execution_id[:12]}")
            delay = 0.05
            while True:
                execution = self.get(execution_id)
                status = execution["status"]
                bar.update(task, description=f"execution {execution_id[:12]}: "
                                             f"{labels.get(status, status)}")
                if status in ("SUCCESS", "FAILED", "DENIED"):
                    break
                if time.monotonic() > deadline:
                    raise ExecutionFailed(execution_id, status, f"still {status} after "
                                                                f"{timeout:.0f} s")
                time.sleep(delay)
                delay = min(delay * 1.5, 1.0)
        if status == "DENIED":
            raise ExecutionFailed(execution_id, status, "the data owners denied access, or "
                                                        "the data is unavailable")
        return self.result(execution_id, execution)

    def result(self, execution_id: str, execution: Record | None = None) -> ExecutionResult:
        """The final result of a finished execution (raises :class:`ExecutionFailed` when it
        failed)."""
        execution = execution or self.get(execution_id)
        body = self._t.json("GET", f"/executions/{execution_id}/result")
        if body.get("status") != "SUCCESS":
            raise ExecutionFailed(execution_id, str(body.get("status")),
                                  str(body.get("error") or "no reason given"))
        parquet = None
        if body.get("kind") in ("dataframe", "series"):
            parquet = self._t.request("GET", f"/executions/{execution_id}/result",
                                      params={"format": "parquet"}).content
        fishnet = self._fishnet
        reference = None
        if fishnet.node is not None and fishnet.deployment is not None:
            reference = (fishnet.node, fishnet.deployment.owner, fishnet.deployment.manifest)
        return ExecutionResult(execution_id=execution_id, status=body["status"],
                               kind=body["kind"], data=body.get("data"),
                               result_id=body.get("resultID"), data_hash=body.get("dataHash"),
                               execution=execution, _parquet=parquet, _reference=reference)


class Permissions(_Resource):
    def request(self, dataset: str | Record, *, timeseries: Sequence[str] | None = None,
                algorithm: str | Record | None = None,
                executions: int | None = None) -> list[Record]:
        """Ask the data owners for access to a dataset (or some of its timeseries), optionally
        for one algorithm only and a number of executions."""
        body: Record = {}
        if timeseries is not None:
            body["timeseriesIDs"] = list(timeseries)
        if algorithm is not None:
            body["algorithmID"] = _id(algorithm)
        if executions is not None:
            body["requestedExecutionCount"] = executions
        return list(self._t.json("PUT", f"/permissions/datasets/{_id(dataset)}/request",
                                 json_body=body))

    def grant(self, dataset: str | Record, requestor: str, *,
              timeseries: Sequence[str] | None = None, algorithm: str | Record | None = None,
              max_executions: int | None = None) -> list[Record]:
        """As a data owner, grant ``requestor`` access to your timeseries of a dataset."""
        body: Record = {"requestor": requestor}
        if timeseries is not None:
            body["timeseriesIDs"] = list(timeseries)
        if algorithm is not None:
            body["algorithmID"] = _id(algorithm)
        if max_executions is not None:
            body["maxExecutionCount"] = max_executions
        return list(self._t.json("PUT", f"/permissions/datasets/{_id(dataset)}/grant",
                                 json_body=body))

    def incoming(self) -> list[Record]:
        """Permission requests waiting for this wallet's decision."""
        return list(self._t.json(
            "GET", f"/users/{self._fishnet.address}/permissions/incoming", signed=False))

    def outgoing(self) -> list[Record]:
        return list(self._t.json(
            "GET", f"/users/{self._fishnet.address}/permissions/outgoing", signed=False))

    def approve(self, permissions: Sequence[str | Record]) -> list[Record]:
        """Approve requests addressed to this wallet (waiting executions start)."""
        return list(self._t.json("PUT", "/permissions/approve",
                                 json_body=[_id(p) for p in permissions]))

    def deny(self, permissions: Sequence[str | Record]) -> list[Record]:
        """Deny requests addressed to this wallet (waiting executions are denied)."""
        return list(self._t.json("PUT", "/permissions/deny",
                                 json_body=[_id(p) for p in permissions]))


class Fishnet:
    """A connection to one deployed Fishnet, acting as ``wallet``."""

    def __init__(self, api_urls: Sequence[str], wallet: Wallet | None, *,
                 node: NodeReader | None = None, deployment: Deployment | None = None) -> None:
        self.wallet = wallet
        self.node = node
        self.deployment = deployment
        self.transport = Transport(api_urls, wallet)
        self.timeseries = Timeseries(self)
        self.datasets = Datasets(self)
        self.algorithms = Algorithms(self)
        self.executions = Executions(self)
        self.permissions = Permissions(self)

    @property
    def address(self) -> str:
        if self.wallet is None:
            raise ConfigError("this Fishnet connection has no wallet")
        return self.wallet.address

    @classmethod
    def connect(cls, network: str, owner_address: str, stack: str,
                wallet: Wallet | None = None) -> Fishnet:
        """Discover ``stack`` of ``owner_address`` on ``network`` (a node URL, or ``devnet``
        for the devnet of this directory) from its manifest; refuses VMs the owner never
        authorised (:class:`~fishnet_stack.errors.UntrustedDeployment`)."""
        devnet = network == "devnet"
        if devnet:
            running = find_devnet(default_data_dir())
            if running is None:
                raise ConfigError("no devnet is running here; start it with "
                                  "`fishnet-stack devnet up --detach` or apply a stack")
            network = running.url
        node = NodeReader(network)
        deployment = discover(node, owner_address, stack, devnet)
        return cls(deployment.api_urls, wallet, node=node, deployment=deployment)

    @classmethod
    def from_stack(cls, path: str | Path, wallet: Wallet | None = None) -> Fishnet:
        """Connect to the deployment a stack file describes (its network, owner and name).

        >>> fishnet = Fishnet.from_stack("stacks/local.yaml", wallet=Wallet.from_file("me.key"))
        """
        stack = load_stack(Path(path))
        if stack.key_path is not None:
            owner = load_key_file(stack.key_path)
        else:
            owner = load_key_env(str(stack.owner.key_env))
        return cls.connect(stack.network, owner.address, stack.stack, wallet)

    def notifications(self) -> list[Record]:
        """What needs this wallet's attention (permission requests, decisions)."""
        return list(self.transport.json("GET", f"/users/{self.address}/notifications",
                                        signed=False))

    def verify(self, result: ExecutionResult) -> None:
        """Same as ``result.verify()``."""
        result.verify()

    def close(self) -> None:
        self.transport.close()
        if self.node is not None:
            self.node.close()

    def __enter__(self) -> Fishnet:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _multipart(field: str, filename: str, data: bytes,
               fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body with one file part (built here so the signed bytes are
    exactly the sent bytes)."""
    boundary = "fishnet-" + hashlib.sha256(data).hexdigest()[:32]
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                 f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"

"""Fishnet in one run: a data owner publishes prices, a researcher computes on them without
downloading them, and the result comes back as pandas next to the same computation done locally.

Run it against a deployed stack (the README's first command deploys stacks/local.yaml on devnet):

    python examples/quickstart.py [--stack stacks/local.yaml]

Keys: the owner of the data and the researcher each get a wallet in .fishnet/keys/ (created on
first run). The data is the synthetic OHLCV of examples/data/ (python examples/make_data.py).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import volatility  # examples/volatility.py: the algorithm, a plain module
from rich.console import Console
from rich.table import Table

from fishnet_stack.sdk import Fishnet, Wallet

HERE = Path(__file__).resolve().parent
KEYS = Path(".fishnet/keys")
console = Console()


def wallet(name: str) -> Wallet:
    path = KEYS / f"{name}.key"
    return Wallet.from_file(path) if path.exists() else Wallet.create(path)


def closes() -> pd.DataFrame:
    """Daily closes of every symbol in examples/data/, one column per symbol."""
    columns = {}
    for csv in sorted((HERE / "data").glob("*.csv")):
        bars = pd.read_csv(csv, parse_dates=["timestamp"], index_col="timestamp")
        columns[csv.stem] = bars["close"]
    frame = pd.DataFrame(columns)
    frame.index = frame.index.tz_localize("UTC")
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="stacks/local.yaml")
    args = parser.parse_args()
    prices = closes()
    alice = Fishnet.from_stack(args.stack, wallet=wallet("alice"))  # owns the data
    bob = Fishnet.from_stack(args.stack, wallet=wallet("bob"))      # the researcher
    deployment = alice.deployment
    assert deployment is not None
    console.print(f"[bold]deployment[/] {deployment.stack}, release "
                  f"{deployment.release_number}, API at {', '.join(deployment.api_urls)}")

    started = time.perf_counter()
    series = alice.timeseries.upload(prices)
    dataset = alice.datasets.create("crypto closes", series, price="1",
                                    desc="synthetic daily closes, 2017-2023")
    upload_seconds = time.perf_counter() - started
    console.print(f"alice uploaded {len(series)} timeseries ({len(prices):,} days each) as "
                  f"dataset {dataset['item_hash'][:12]} in {upload_seconds:.1f} s")

    algorithm = bob.algorithms.register(volatility, name="annualised volatility",
                                        desc="std of daily log returns x sqrt(365)")
    answer = bob.executions.request(dataset, algorithm)
    execution_id = answer["execution"]["item_hash"]
    console.print(f"bob asked to run it: execution {execution_id[:12]} is "
                  f"{answer['execution']['status']} with "
                  f"{len(answer['permissionRequests'])} permission request(s)")

    incoming = alice.permissions.incoming()
    alice.permissions.approve([p for p in incoming if p["requestor"] == bob.address])
    console.print(f"alice approved {len(incoming)} request(s)")

    started = time.perf_counter()
    result = bob.executions.wait(execution_id)
    remote_seconds = time.perf_counter() - started
    result.verify()
    remote = result.to_pandas()

    started = time.perf_counter()
    local = volatility.aggregate([volatility.run(prices, {})], {})
    local_seconds = time.perf_counter() - started

    table = Table(title="annualised volatility of daily log returns")
    table.add_column("symbol")
    table.add_column(f"Fishnet ({remote_seconds:.2f} s)", justify="right")
    table.add_column(f"local pandas ({local_seconds * 1000:.1f} ms)", justify="right")
    for symbol in prices.columns:
        table.add_row(symbol, f"{remote[symbol]:.6f}", f"{local[symbol]:.6f}")
    console.print(table)
    console.print("the result was verified: posted for the stack owner by an executor "
                  "authorised in its release")
    for fishnet in (alice, bob):
        fishnet.close()


if __name__ == "__main__":
    main()

"""Write the quickstart's synthetic market data: seeded daily OHLCV bars of three symbols,
2017-01-01 to 2023-12-31, one CSV per symbol in examples/data/ (deterministic: the same bytes
on every run).

    python examples/make_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SYMBOLS = {"BTC": (1000.0, 0.65), "ETH": (10.0, 0.85), "SOL": (1.0, 1.1)}  # start, annual vol
DAYS = pd.date_range("2017-01-01", "2023-12-31", freq="D", tz="UTC")
OUT = Path(__file__).parent / "data"


def bars(symbol: str, start: float, annual_vol: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    daily = annual_vol / np.sqrt(365)
    returns = rng.normal(0.0004, daily, len(DAYS))
    close = start * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[start], close[:-1]])
    spread = np.abs(rng.normal(0, daily / 2, len(DAYS)))
    return pd.DataFrame({
        "timestamp": DAYS.strftime("%Y-%m-%d"),
        "open": open_.round(6),
        "high": (np.maximum(open_, close) * (1 + spread)).round(6),
        "low": (np.minimum(open_, close) * (1 - spread)).round(6),
        "close": close.round(6),
        "volume": rng.lognormal(12, 0.5, len(DAYS)).round(2),
    })


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for seed, (symbol, (start, vol)) in enumerate(SYMBOLS.items()):
        bars(symbol, start, vol, seed).to_csv(OUT / f"{symbol}.csv", index=False)
        print(f"wrote {OUT / f'{symbol}.csv'}")


if __name__ == "__main__":
    main()

"""Annualised volatility of daily log returns, per column, computed next to the data.

Each executor turns its slice's prices into daily log returns; ``LOOKBACK`` gives it the days
before its slice so the first return of the slice is computed too, and Fishnet drops the rows
before the slice's start, so every return is counted exactly once. ``aggregate`` combines the
slices' returns into one volatility per column: the same number as on the full data.
"""

import numpy as np
import pandas as pd

LOOKBACK = "3D"


def run(df, params):
    return np.log(df).diff()


def aggregate(partials, params):
    returns = pd.concat(partials).sort_index()
    return returns.std() * np.sqrt(params.get("days_per_year", 365))

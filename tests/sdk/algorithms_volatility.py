"""An algorithm module registered by the SDK tests through one of its functions."""

import numpy as np

LOOKBACK = "10D"


def run(df, params):
    returns = np.log(df).diff()
    return returns.rolling("10D").std() * np.sqrt(365)


def aggregate(partials, params):
    import pandas as pd

    return pd.concat(partials).sort_index()

"""fishnet-stack: deploy and run Fishnet (compute-over-data for financial timeseries) on Aleph."""

from fishnet_stack.errors import (
    AlephError,
    ConfigError,
    DevnetError,
    FishnetError,
    MessageRejected,
    NodeUnavailable,
)

__all__ = [
    "AlephError",
    "ConfigError",
    "DevnetError",
    "FishnetError",
    "MessageRejected",
    "NodeUnavailable",
    "__version__",
]

__version__ = "0.1.0"

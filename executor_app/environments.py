"""Execution environments: what an algorithm's code may import, and what the executor's sandbox
preloads for it. ``pandas`` today; the registry leaves room for ``torch`` (GPU) next."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["ENVIRONMENTS", "Environment", "get_environment"]


@dataclass(frozen=True)
class Environment:
    """``warm_imports`` are imported once by the sandbox's zygote, so each run starts with them
    loaded; ``requirements`` go into the executor's packages volume; ``gpu`` says whether the
    environment needs an accelerator."""

    name: str
    description: str
    warm_imports: tuple[str, ...]
    requirements: tuple[str, ...]
    gpu: bool = False


ENVIRONMENTS: Mapping[str, Environment] = MappingProxyType({
    "pandas": Environment(
        name="pandas",
        description="pandas 3 with numpy and pyarrow, on the CPU",
        warm_imports=("numpy", "pandas", "pyarrow", "pyarrow.parquet"),
        requirements=("numpy", "pandas>=3,<4", "pyarrow"),
    ),
})


def get_environment(name: str | None) -> Environment:
    """The environment called ``name`` (None means ``pandas``); ValueError lists the valid ones."""
    key = name or "pandas"
    try:
        return ENVIRONMENTS[key]
    except KeyError as exc:
        raise ValueError(
            f"unknown environment {key!r}; available: {', '.join(sorted(ENVIRONMENTS))}"
        ) from exc

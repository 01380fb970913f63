"""The sandbox of DESIGN section 8 against hostile algorithms: each ends as an error outcome (or
returns nothing secret), and the next run still succeeds."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from executor_app.sandbox import Limits, Sandbox, decode, encode

SECRET = "0x" + "ab" * 32
FRAME = pd.DataFrame(
    {"a": np.arange(100.0), "b": np.ones(100)},
    index=pd.date_range("2020-01-01", periods=100, freq="D", tz="UTC"),
)
SUM = "def run(df, params):\n    return df.sum()\n"
TIGHT = Limits(cpu_seconds=2, wall_seconds=20, memory_bytes=1024 * 1024 * 1024,
               output_bytes=8 * 1024 * 1024)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("vm-data")
    (directory / "key").write_text(SECRET)
    return directory


@pytest.fixture(scope="module")
async def sandbox(data_dir: Path) -> AsyncIterator[Sandbox]:
    os.environ["FISHNET_TEST_SECRET"] = SECRET  # the executor's environment holds secrets too
    box = Sandbox(hidden=[str(data_dir)])
    yield box
    box.close()


async def run(box: Sandbox, code: str, limits: Limits = TIGHT) -> tuple[str, object, str | None]:
    outcome = await box.run(code, "run", {}, [encode(FRAME)], limits)
    value = decode(outcome.payload) if outcome.payload is not None else None
    return outcome.status, value, outcome.error


async def test_pandas_works_and_isolation_is_recorded(sandbox: Sandbox) -> None:
    outcome = await sandbox.run(SUM, "run", {}, [encode(FRAME)], TIGHT)
    assert outcome.ok, outcome.error
    pd.testing.assert_series_equal(decode(outcome.payload), FRAME.sum())  # type: ignore[arg-type]
    active = outcome.isolation["active"]
    for layer in ("seccomp", "no-new-privs", "network-namespace", "hidden:/proc", "rlimits",
                  "fds-closed", "env-scrubbed"):
        assert layer in active, (layer, outcome.isolation)


HOSTILE = {
    "infinite loop": "def run(df, p):\n    while True:\n        pass\n",
    "memory bomb": "def run(df, p):\n    x = []\n    while True:\n        x.append(b'x' * 10**7)\n",
    "read the key file": "def run(df, p):\n    return open({key!r}).read()\n",
    "parent environ through /proc": (
        "import os\ndef run(df, p):\n    return open(f'/proc/{{os.getppid()}}/environ').read()\n"),
    "socket": "import socket\ndef run(df, p):\n    socket.socket().connect(('1.1.1.1', 80))\n",
    "_socket": "import _socket\ndef run(df, p):\n    _socket.socket(2, 1)\n",
    "raw socket syscall": (
        "import ctypes\ndef run(df, p):\n"
        "    fd = ctypes.CDLL(None, use_errno=True).syscall(41, 2, 1, 0)\n"
        "    assert fd < 0, 'socket syscall succeeded'\n    raise OSError(ctypes.get_errno())\n"),
    "subprocess python": (
        "import subprocess, sys\ndef run(df, p):\n"
        "    return subprocess.run([sys.executable, '-c', 'print(1)']).returncode\n"),
    "subprocess curl": (
        "import subprocess\ndef run(df, p):\n"
        "    return subprocess.run(['curl', 'http://example.com']).returncode\n"),
    "sys.exit": "import sys\ndef run(df, p):\n    sys.exit(3)\n",
    "os._exit": "import os\ndef run(df, p):\n    os._exit(4)\n",
    "kill the parent": "import os, signal\ndef run(df, p):\n    os.kill(os.getppid(), 9)\n",
    "huge result": "def run(df, p):\n    return 'x' * (1024 ** 3)\n",
    "unmount the tmpfs": (
        "import ctypes\ndef run(df, p):\n"
        "    assert ctypes.CDLL(None).umount2(b'/proc', 2) != 0, 'umount worked'\n"
        "    return open('/proc/1/environ').read()\n"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_code_fails_and_the_next_run_succeeds(
    sandbox: Sandbox, data_dir: Path, name: str
) -> None:
    code = HOSTILE[name].format(key=str(data_dir / "key"))
    status, value, error = await run(sandbox, code)
    assert status == "error", (name, value)
    assert error, name
    assert SECRET not in (error or "")
    follow_up = await sandbox.run(SUM, "run", {}, [encode(FRAME)], TIGHT)
    assert follow_up.ok, follow_up.error


async def test_environment_dump_shows_no_secret(sandbox: Sandbox) -> None:
    code = "import os\ndef run(df, p):\n    return dict(os.environ)\n"
    status, value, _ = await run(sandbox, code)
    assert status == "ok"
    assert isinstance(value, dict)
    assert SECRET not in str(value) and "FISHNET_TEST_SECRET" not in value


async def test_os_system_cannot_run_a_shell(sandbox: Sandbox) -> None:
    code = "import os\ndef run(df, p):\n    return os.system('true')\n"
    status, value, _ = await run(sandbox, code)
    assert status == "ok" and value != 0, "a shell ran inside the sandbox"


async def test_inherited_descriptors_are_closed(sandbox: Sandbox, data_dir: Path) -> None:
    opened = os.open(data_dir / "key", os.O_RDONLY)  # an fd the executor holds open
    try:
        code = (f"import os\ndef run(df, p):\n    return os.read({opened}, 100).decode()\n")
        status, value, error = await run(sandbox, code)
        assert status == "error" and "Bad file descriptor" in (error or ""), (value, error)
    finally:
        os.close(opened)


async def test_wall_clock_limit_kills_a_sleeper(sandbox: Sandbox) -> None:
    limits = Limits(cpu_seconds=60, wall_seconds=1, memory_bytes=TIGHT.memory_bytes)
    status, _, error = await run(sandbox, "import time\ndef run(df, p):\n    time.sleep(30)\n",
                                 limits)
    assert status == "error" and "wall-clock" in (error or "")


async def test_aggregate_defaults_to_time_ordered_concatenation(sandbox: Sandbox) -> None:
    first, second = FRAME.iloc[:50], FRAME.iloc[50:]
    outcome = await sandbox.run("def run(df, p):\n    return df\n", "aggregate", {},
                                [encode(second), encode(first)], TIGHT)
    assert outcome.ok, outcome.error
    pd.testing.assert_frame_equal(decode(outcome.payload), FRAME, check_freq=False)  # type: ignore[arg-type]


def test_limits_from_params_never_exceed_the_program_ceiling() -> None:
    ceiling = Limits(cpu_seconds=60, wall_seconds=120, memory_bytes=2 << 30, output_bytes=1 << 20)
    asked = Limits(cpu_seconds=10_000, wall_seconds=1, memory_bytes=1, output_bytes=1 << 40)
    capped = asked.capped(ceiling)
    assert capped.cpu_seconds == 60 and capped.wall_seconds == 1
    assert capped.memory_bytes == 1 << 30  # never under 1 GiB: pyarrow needs it
    assert capped.output_bytes == 1 << 20

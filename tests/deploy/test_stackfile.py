"""Stack files: the examples load, every bad file of the corpus is rejected where it is wrong,
and a rejected stack sends nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from fishnet_stack.errors import StackError
from fishnet_stack.stackdoc import reference_markdown
from fishnet_stack.stackfile import json_schema, load_stack, parse_stack
from tests.conftest import DevnetHandle
from tests.deploy.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((Path(__file__).parent / "bad_stacks").glob("*.yaml"))


def expectations(path: Path) -> list[str]:
    return re.findall(r"^# expect: (.+)$", path.read_text(), re.MULTILINE)


def test_examples_are_valid() -> None:
    local = load_stack(ROOT / "stacks" / "local.yaml")
    assert local.is_devnet and local.api.instances == 1
    assert len(local.executors.timeslices) == 2
    mainnet = load_stack(ROOT / "stacks" / "mainnet.example.yaml",
                         {"FISHNET_LOG_LEVEL": "debug"})
    assert mainnet.variables == {"LOG_LEVEL": "debug"}
    assert mainnet.network == "https://api2.aleph.im"


def test_corpus_is_not_empty() -> None:
    assert len(CORPUS) >= 15
    assert all(expectations(p) for p in CORPUS), "every bad stack states what it expects"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_bad_stack_is_rejected_with_its_position(path: Path) -> None:
    code, output = run_cli("validate", str(path))
    assert code == 1, output
    assert "Traceback" not in output
    for expected in expectations(path):
        where, _, rest = expected.partition(" ")
        assert f"{path}:{where}: {rest}" in output, output


def test_bad_stacks_send_nothing(devnet: DevnetHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISHNET_DEVNET_DIR", str(devnet.data_dir))
    monkeypatch.setenv("FISHNET_DEVNET_PORT", str(devnet.port))

    def total() -> int:
        response = httpx.get(f"{devnet.url}/api/v0/messages.json", params={"pagination": "1"})
        return int(response.json()["pagination_total"])

    before = total()
    for path in CORPUS:
        for command in (["plan", str(path)], ["apply", "--auto-approve", str(path)]):
            code, output = run_cli(*command)
            assert code == 1, (path, output)
    assert total() == before


def test_every_problem_is_reported_at_once() -> None:
    text = (Path(__file__).parent / "bad_stacks" / "typo_top_level.yaml").read_text()
    with pytest.raises(StackError) as caught:
        parse_stack(text.replace("api: {instances: 1}", "api: {instances: 0}"), "s.yaml")
    assert sorted(p.path for p in caught.value.problems) == ["api.instances", "chanel",
                                                            "channel"]


def test_interpolation_and_escape() -> None:
    text = (ROOT / "stacks" / "local.yaml").read_text().replace(
        "variables: {LOG_LEVEL: info}", "variables: {LOG_LEVEL: '${LEVEL}', PRICE: '$$5'}")
    stack = parse_stack(text, environ={"LEVEL": "warning"})
    assert stack.variables == {"LOG_LEVEL": "warning", "PRICE": "$5"}


def test_schema_is_strict_json_schema() -> None:
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert {"stack", "network", "channel", "owner", "versions"} <= set(schema["required"])
    assert "base_dir" not in schema["properties"]
    code, output = run_cli("schema")
    assert code == 0 and json.loads(output) == schema


@pytest.mark.parametrize("args", [["plan"], ["plan", "--detailed-exitcode", "--bogus", "x.yaml"],
                                  ["plan", "--detailed-exitcode", "missing.yaml"],
                                  ["rollback", "stacks/local.yaml"]])
def test_usage_errors_exit_1_never_2(args: list[str]) -> None:
    code, output = run_cli(*args)
    assert code == 1, output
    assert "Traceback" not in output


def test_the_documented_reference_is_generated_from_the_schema() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "stackfile.md").read_text()
    generated = reference_markdown(json_schema())
    assert generated in doc, ("docs/stackfile.md is out of date: paste the output of "
                              "`fishnet-stack schema --markdown` between its markers")
    for key in json_schema()["properties"]:
        assert f"| `{key}` |" in generated

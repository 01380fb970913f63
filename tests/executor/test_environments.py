import pandas as pd
import pytest

from executor_app.environments import ENVIRONMENTS, get_environment
from executor_app.sandbox import Limits, Sandbox, decode, encode


def test_pandas_is_the_default_and_unknown_names_list_the_valid_ones() -> None:
    assert get_environment(None) is ENVIRONMENTS["pandas"]
    assert "pandas" in get_environment(None).warm_imports
    with pytest.raises(ValueError, match="available: pandas"):
        get_environment("torch-nightly")


@pytest.mark.parametrize("preload", [True, False])
async def test_children_inherit_the_zygotes_warm_imports(preload: bool) -> None:
    # colorsys: a stdlib module nothing else imports, so only the preload can bring it in.
    box = Sandbox(warm_imports=["colorsys"] if preload else [])
    try:
        code = "import sys\ndef run(df, p):\n    return 'colorsys' in sys.modules\n"
        outcome = await box.run(code, "run", {}, [encode(pd.DataFrame())],
                                Limits(cpu_seconds=10, wall_seconds=30))
        assert outcome.ok, outcome.error
        assert decode(outcome.payload) is preload  # type: ignore[arg-type]
    finally:
        box.close()

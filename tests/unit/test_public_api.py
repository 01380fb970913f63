import fishnet_stack
from fishnet_stack import errors


def test_all_names_exist_and_errors_share_one_root() -> None:
    for name in fishnet_stack.__all__:
        assert hasattr(fishnet_stack, name), name
    for name in errors.__all__:
        error = getattr(errors, name)
        assert issubclass(error, errors.FishnetError)

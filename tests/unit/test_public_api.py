import fishnet_stack
from fishnet_stack import errors


def test_all_names_exist_and_errors_share_one_root() -> None:
    for name in fishnet_stack.__all__:
        assert hasattr(fishnet_stack, name), name
    exceptions = [getattr(errors, name) for name in errors.__all__]
    exceptions = [e for e in exceptions if isinstance(e, type) and issubclass(e, BaseException)]
    assert errors.FishnetError in exceptions
    for error in exceptions:
        assert issubclass(error, errors.FishnetError), error

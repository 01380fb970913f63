from fishnet_stack.aleph.security import authorised_addresses

ENTRIES = [
    {"address": "0xAA", "channels": ["C1"]},
    {"address": "0xBB"},  # every channel
    {"address": "0xCC", "channels": ["C2"]},
    {"channels": ["C1"]},  # malformed: no address
    "junk",
]


def test_delegates_by_channel_and_in_any_scope() -> None:
    assert authorised_addresses(ENTRIES, "C1") == {"0xaa", "0xbb"}
    assert authorised_addresses(ENTRIES) == {"0xaa", "0xbb", "0xcc"}
    assert authorised_addresses(None, "C1") == set()

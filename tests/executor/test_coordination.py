from executor_app.coordination import ClaimView, PartialView, decide, winner

NOW = 1_000.0


def claim(item_hash: str, time: float, executor: str = "0xA", slice_index: int = 0,
          lease: float = 300.0) -> ClaimView:
    return ClaimView(item_hash, slice_index, executor, time, time + lease)


def test_earliest_live_claim_wins_with_item_hash_as_tie_breaker() -> None:
    claims = [claim("bb", 900.0, "0xB"), claim("aa", 900.0, "0xA"), claim("cc", 950.0, "0xC")]
    assert winner(claims, 0, NOW) == claims[1]


def test_expired_leases_free_the_slice_for_a_takeover() -> None:
    dead = claim("aa", 100.0, "0xDEAD", lease=60)
    assert winner([dead], 0, NOW) is None
    takeover = claim("bb", 990.0, "0xB")
    assert winner([dead, takeover], 0, NOW) == takeover


def test_claims_of_other_slices_do_not_count() -> None:
    assert winner([claim("aa", 900.0, slice_index=1)], 0, NOW) is None


def test_the_aggregator_waits_for_missing_slices_then_aggregates() -> None:
    assert decide(2, [PartialView(0, "SUCCESS")]).missing == (1,)
    assert decide(2, [PartialView(0, "SUCCESS"), PartialView(1, "SUCCESS")]).action == "aggregate"


def test_any_failed_slice_fails_the_execution_with_its_reason() -> None:
    decision = decide(3, [PartialView(1, "FAILED", "MemoryError"), PartialView(0, "SUCCESS")])
    assert decision.action == "fail" and decision.reason == "slice 1: MemoryError"


def test_only_the_first_partial_of_a_slice_counts() -> None:
    partials = [PartialView(0, "SUCCESS", time=1.0), PartialView(0, "FAILED", "late", time=2.0)]
    assert decide(1, partials).action == "aggregate"

"""Properties of the pure counting: elections, the high watermark, log comparison."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from odradek.raft.leader_state import LeaderState
from odradek.raft.majority import VoteTally, majority_end_offset, majority_size
from odradek.raft.offsets import OffsetAndEpoch, is_at_least

voter_sets = st.sets(st.integers(0, 20), min_size=1, max_size=9)


def test_majority_sizes() -> None:
    assert [majority_size(n) for n in range(1, 8)] == [1, 2, 2, 3, 3, 4, 4]


@given(
    voter_sets.flatmap(
        lambda voters: st.tuples(
            st.just(voters),
            st.fixed_dictionaries({v: st.none() | st.integers(0, 50) for v in voters}),
        )
    )
)
def test_majority_end_offset_is_the_largest_offset_a_majority_holds(
    case: tuple[set[int], dict[int, int | None]],
) -> None:
    voters, offsets = case
    result = majority_end_offset(offsets, voters)
    needed = majority_size(len(voters))
    known = [o for o in offsets.values() if o is not None]

    def held_by_majority(offset: int) -> bool:
        return sum(1 for o in known if o >= offset) >= needed

    if len(known) < needed:
        assert result is None
    else:
        assert result is not None
        assert held_by_majority(result)
        assert not held_by_majority(result + 1)


@given(voter_sets, st.lists(st.tuples(st.integers(0, 20), st.booleans()), max_size=30))
def test_a_tally_is_won_or_lost_never_both(
    voters: set[int], answers: list[tuple[int, bool]]
) -> None:
    tally = VoteTally(voters)
    first: dict[int, bool] = {}
    for voter, granted in answers:
        recorded = tally.record(voter, granted)
        assert recorded == (voter in voters and voter not in first)
        if recorded:
            first[voter] = granted
    granted_count = sum(first.values())
    rejected_count = len(first) - granted_count
    needed = majority_size(len(voters))
    assert tally.is_won == (granted_count >= needed)
    assert tally.is_lost == (len(voters) - rejected_count < needed)
    assert not (tally.is_won and tally.is_lost)
    assert tally.unrecorded == frozenset(voters) - set(first)


@given(
    st.tuples(st.integers(0, 5), st.integers(0, 100)),
    st.tuples(st.integers(0, 5), st.integers(0, 100)),
)
def test_up_to_date_compares_epochs_first(a: tuple[int, int], b: tuple[int, int]) -> None:
    left = OffsetAndEpoch(offset=a[1], epoch=a[0])
    right = OffsetAndEpoch(offset=b[1], epoch=b[0])
    assert is_at_least(left, right) == (a >= b)
    assert is_at_least(left, right) or is_at_least(right, left)


updates = st.lists(
    st.tuples(st.sampled_from([2, 3, 4, 5, 9]), st.integers(0, 60)), min_size=1, max_size=40
)


@given(st.integers(0, 20), updates, st.lists(st.integers(0, 80), max_size=10))
def test_the_leaders_high_watermark_only_moves_forward_past_its_epoch_start(
    epoch_start: int, fetches: list[tuple[int, int]], own_ends: list[int]
) -> None:
    """Followers' fetch offsets may go back (a replica that lost its disk); the HW never.

    When it moves, it moves to what a majority of voters hold; an observer (9) never
    moves it.
    """
    voters = frozenset({1, 2, 3, 4, 5})
    state = LeaderState(
        4,
        1,
        voters,
        epoch_start_offset=epoch_start,
        granting_voters=frozenset({1, 2, 3}),
        now_ms=0,
        check_quorum_timeout_ms=3000,
    )
    history: list[int] = []

    def check(moved: bool) -> None:
        if moved:
            offsets = {v: s.end_offset for v, s in state.voter_states.items()}
            assert state.high_watermark == majority_end_offset(offsets, voters)
        if state.high_watermark is not None:
            assert state.high_watermark > epoch_start
            history.append(state.high_watermark)

    own = iter(own_ends)
    for replica, offset in fetches:
        moved = state.update_replica_state(replica, offset, now_ms=10)
        assert not (moved and replica == 9)
        check(moved)
        end = next(own, None)
        if end is not None:
            check(state.update_local_end_offset(end, now_ms=10))
    assert history == sorted(history)
    assert 9 not in state.voter_states

"""What a guide fragment learns from the change log: which channel changed, and from when."""

from __future__ import annotations

from exstreamtv.services.changes import HISTORY, GuideChanges

WINDOW_END = 10_000


def test_a_change_after_the_window_leaves_a_fragment_right_and_one_inside_does_not() -> None:
    changes = GuideChanges()
    made_at = changes.version
    changes.playout_changed(1, from_ms=WINDOW_END)  # appended after the window: nothing shown moved
    assert not changes.changed_since(1, made_at, WINDOW_END)
    changes.playout_changed(1, from_ms=WINDOW_END - 1)
    assert changes.changed_since(1, made_at, WINDOW_END)
    assert not changes.changed_since(2, made_at, WINDOW_END)  # another channel


def test_a_fragment_older_than_the_remembered_changes_counts_as_stale() -> None:
    changes = GuideChanges()
    changes.playout_changed(1, from_ms=0)
    old = changes.version
    for _ in range(HISTORY + 1):  # the change that mattered is forgotten
        changes.playout_changed(1, from_ms=WINDOW_END)
    assert changes.changed_since(1, old - 1, WINDOW_END)
    assert not changes.changed_since(1, changes.version - 1, WINDOW_END)


def test_channel_edits_move_the_lineup_and_a_bump_moves_everything() -> None:
    changes = GuideChanges()
    changes.channel_changed(3)
    assert (changes.lineup, changes.epoch) == (1, 0)
    assert changes.changed_since(3, 0, WINDOW_END)
    changes.channel_changed(3, deleted=True)
    assert not changes.changed_since(3, changes.version, WINDOW_END)
    changes.bump()
    assert (changes.lineup, changes.epoch) == (3, 1)

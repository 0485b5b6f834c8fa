"""Which slots a shrinking batch keeps: compaction copies the KV cache, so it waits until a quarter has finished."""

from __future__ import annotations

from nejumi_plugin.backends.hf_rows import slots_to_keep


def test_finished_rows_ride_along_until_a_quarter_of_the_batch_is_done() -> None:
    rows = list(range(8))
    assert slots_to_keep(rows, {3}) == rows  # 7 of 8 unfinished: no copy yet
    assert slots_to_keep(rows, {1, 3}) == rows  # exactly 3/4
    assert slots_to_keep(rows, {1, 3, 5}) == [0, 2, 4, 6, 7]  # below: compacted to the unfinished rows


def test_small_batches_keep_riders_up_to_four_rows_and_a_last_row_goes_alone() -> None:
    assert slots_to_keep([10, 11, 12, 13, 14, 15], {10, 11, 12, 13}) == [0, 1, 4, 5]  # 2 alive + 2 riders
    assert slots_to_keep([4, 5, 6], {4, 6}) == [1]
    assert slots_to_keep([4, 5], {4, 5}) == []

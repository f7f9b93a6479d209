import pytest
import torch

from lightly_byel.models.prediction import VideoSmoother


def test_a_window_of_one_changes_nothing_and_videos_never_mix() -> None:
    rows = [(i, "a" if i < 3 else "b", torch.rand(6)) for i in range(5)]
    plain = VideoSmoother(1)
    out = [done for row in rows for done in plain.add(*row)] + plain.flush()
    assert [index for index, _ in out] == list(range(5))
    for (_, smoothed), (_, _, original) in zip(out, rows, strict=True):
        assert torch.equal(smoothed, original)
    wide = VideoSmoother(9)
    out = [done for row in rows for done in wide.add(*row)] + wide.flush()
    # Every frame of a video gets that video's mean, and only its own frames.
    first = torch.stack([row[2] for row in rows[:3]]).mean(dim=0)
    torch.testing.assert_close(out[0][1], first)
    torch.testing.assert_close(out[3][1], (rows[3][2] + rows[4][2]) / 2)


def test_the_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        VideoSmoother(0)

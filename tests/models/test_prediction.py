from collections.abc import Sequence

import pytest
import torch
from torch import Tensor

from lightly_byel.models.prediction import VideoSmoother

Frame = tuple[str, int, Tensor]  # video, frame number, probabilities


def _smooth(frames: Sequence[Frame], window: int) -> list[Tensor]:
    """The smoother's output for ``frames``, checked to come back in their order."""
    smoother = VideoSmoother(window)
    done = [
        out
        for index, (video, number, row) in enumerate(frames)
        for out in smoother.add(index, video, number, row)
    ]
    done += smoother.flush()
    assert [index for index, _ in done] == list(range(len(frames)))
    return [smoothed for _, smoothed in done]


def _reference(frames: Sequence[Frame], window: int) -> list[Tensor]:
    """The definition, computed over all frames at once: the mean over the frames
    of the same video numbered f - window // 2 to f - window // 2 + window - 1."""
    out = []
    for video, number, _ in frames:
        start = number - window // 2
        rows = [
            row
            for other, other_number, row in frames
            if other == video and start <= other_number < start + window
        ]
        out.append(torch.stack(rows).mean(dim=0))
    return out


def _frames(video: str, numbers: Sequence[int], seed: int) -> list[Frame]:
    generator = torch.Generator().manual_seed(seed)
    rows = torch.rand(len(numbers), 6, generator=generator).softmax(dim=1)
    return [(video, number, row) for number, row in zip(numbers, rows, strict=True)]


def test_a_gap_shorter_than_the_window_is_left_out_of_the_mean() -> None:
    # Frame 4 is missing; window 5 covers f-2 .. f+2.
    frames = _frames("a", [1, 2, 3, 5, 6], seed=0)
    rows = [row for _, _, row in frames]
    out = _smooth(frames, 5)
    torch.testing.assert_close(out[2], torch.stack(rows[0:4]).mean(dim=0))  # 1..5
    torch.testing.assert_close(out[3], torch.stack(rows[2:5]).mean(dim=0))  # 3..7
    # Frame 6 (range 4..8) never sees frame 2, its neighbour but one in the list.
    torch.testing.assert_close(out[4], torch.stack(rows[3:5]).mean(dim=0))


def test_frames_a_window_or_more_apart_never_mix() -> None:
    one, two = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    # Frames 3-5 are missing: a gap as long as the window of 3.
    frames = [("a", 1, one), ("a", 2, one), ("a", 6, two), ("a", 7, two)]
    out = _smooth(frames, 3)
    assert [row.tolist() for row in out] == [[1.0, 0.0]] * 2 + [[0.0, 1.0]] * 2
    # List neighbours would have mixed frames 2 and 6 (the reported bug).
    frames = [("a", 1, one), ("a", 5, two)]
    assert [row.tolist() for row in _smooth(frames, 5)] == [[1.0, 0.0], [0.0, 1.0]]
    # 5 apart with a window of 5: frame 1's range is -1..3, frame 6's 4..8.
    frames = [("a", 1, one), ("a", 6, two)]
    assert [row.tolist() for row in _smooth(frames, 5)] == [[1.0, 0.0], [0.0, 1.0]]


def test_videos_never_mix_even_with_the_same_frame_numbers() -> None:
    frames = _frames("a", [1, 2, 3], seed=1) + _frames("b", [1, 2, 3], seed=2)
    out = _smooth(frames, 9)
    a_mean = torch.stack([row for _, _, row in frames[:3]]).mean(dim=0)
    b_mean = torch.stack([row for _, _, row in frames[3:]]).mean(dim=0)
    for smoothed in out[:3]:
        torch.testing.assert_close(smoothed, a_mean)
    for smoothed in out[3:]:
        torch.testing.assert_close(smoothed, b_mean)


@pytest.mark.parametrize("window", [2, 3, 4, 5, 8])
def test_the_streamed_result_is_the_definition(window: int) -> None:
    numbers = [1, 2, 4, 5, 6, 9, 10, 11, 12, 20, 22, 23, 30]
    frames = _frames("a", numbers, seed=3) + _frames("b", [2, 3, 7, 8], seed=4)
    for got, expected in zip(
        _smooth(frames, window), _reference(frames, window), strict=True
    ):
        assert torch.equal(got, expected)


def test_a_window_of_one_leaves_the_probabilities_bit_identical() -> None:
    frames = _frames("a", [1, 2, 5, 9], seed=5) + _frames("b", [1, 3], seed=6)
    for smoothed, (_, _, original) in zip(_smooth(frames, 1), frames, strict=True):
        assert torch.equal(smoothed, original)


def test_frames_are_returned_as_soon_as_their_window_is_complete() -> None:
    window = 5  # range f-2 .. f+2: a frame is complete once frame f+2 arrived
    smoother = VideoSmoother(window)
    returned: list[int] = []
    for number in range(1, 1001):
        done = smoother.add(number, "a", number, torch.ones(6))
        returned += [index for index, _ in done]
        assert returned == list(range(1, max(number - 2, 0) + 1))
    returned += [index for index, _ in smoother.flush()]
    assert returned == list(range(1, 1001))


@pytest.mark.parametrize("window", [1, 2, 3])
def test_frames_must_come_in_increasing_order_within_a_video(window: int) -> None:
    smoother = VideoSmoother(window)
    smoother.add(0, "a", 5, torch.ones(2))
    for number in (5, 4):
        with pytest.raises(ValueError, match=f"frame {number} of video 'a' came"):
            smoother.add(1, "a", number, torch.ones(2))
    smoother.add(2, "b", 1, torch.ones(2))  # a new video starts anew


def test_the_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        VideoSmoother(0)

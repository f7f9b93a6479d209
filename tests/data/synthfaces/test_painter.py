import numpy as np
import pytest
from PIL import Image

from lightly_byel.data.synthfaces.faces import Pose, sample_identity
from lightly_byel.data.synthfaces.head import face_outline
from lightly_byel.data.synthfaces.painter import (
    ALIGNED_EYE_DISTANCE,
    ALIGNED_EYE_HEIGHT,
    EYE_DEPTH,
    EYE_X,
    EYE_Y,
    Painter,
    band,
    curve,
)

SIZE = 100


def eyes(painter: Painter, spacing: float) -> np.ndarray:
    points = np.array([(-EYE_X * spacing, EYE_Y), (EYE_X * spacing, EYE_Y)])
    return np.array(painter.project(points, EYE_DEPTH)).reshape(2, 2)


@pytest.mark.parametrize("spacing", [0.88, 1.0, 1.12])
@pytest.mark.parametrize(("yaw", "pitch"), [(0.0, 0.0), (25.0, -10.0)])
def test_aligned_framing_puts_the_eyes_at_a_fixed_place(
    spacing: float, yaw: float, pitch: float
) -> None:
    pose = Pose(yaw=yaw, pitch=pitch, roll=0.0, scale=1.0, shift_x=0.0, shift_y=0.0)
    left, right = eyes(
        Painter(Image.new("RGB", (SIZE, SIZE)), pose, "aligned", spacing), spacing
    )
    assert (left + right) / 2 == pytest.approx(
        [SIZE / 2, ALIGNED_EYE_HEIGHT * SIZE], abs=1e-9
    )
    # Turning the head foreshortens the eye distance, as it does in real crops.
    expected = ALIGNED_EYE_DISTANCE * SIZE * np.cos(np.radians(yaw))
    assert right[0] - left[0] == pytest.approx(expected)


def test_loose_framing_keeps_the_identity_s_eye_spacing() -> None:
    front = Pose(0.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    distances = [
        np.diff(
            eyes(Painter(Image.new("RGB", (SIZE, SIZE)), front, "loose", s), s)[:, 0]
        ).item()
        for s in (0.9, 1.1)
    ]
    assert distances[1] > distances[0]


def test_aligned_faces_fill_most_of_the_frame() -> None:
    front = Pose(0.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    for seed in range(20):
        person = sample_identity(np.random.default_rng(seed))
        painter = Painter(
            Image.new("RGB", (SIZE, SIZE)), front, "aligned", person.eye_spacing
        )
        outline = np.array(painter.project(face_outline(person, 0.0), 0.0)).reshape(
            -1, 2
        )
        width = outline[:, 0].max() - outline[:, 0].min()
        assert 0.7 * SIZE < width < 1.05 * SIZE, seed


def test_band_runs_along_one_curve_and_back_along_the_other() -> None:
    xs = np.array([0.0, 1.0, 2.0])
    outline = band(xs, np.zeros(3), np.array([1.0, 2.0, 3.0]))
    assert outline.tolist() == [
        [0.0, 0.0],
        [1.0, 0.0],
        [2.0, 0.0],
        [2.0, 3.0],
        [1.0, 2.0],
        [0.0, 1.0],
    ]
    assert curve(2.0, np.zeros(2)).tolist() == [[2.0, 0.0], [2.0, 0.0]]

import os
import warnings
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader

from lightly_byel.data import LSDImageFolder
from lightly_byel.transforms import EvalTransform
from lightly_byel.utils import user_warnings


def _split(root: Path) -> Path:
    for number, name in enumerate(("ANGER", "HAPPINESS")):
        (root / name).mkdir(parents=True)
        Image.new("RGB", (16, 16), (number * 90, 40, 40)).save(root / name / "1.png")
    return root


def test_a_replaced_image_is_reported_at_the_loop_not_in_torch(tmp_path: Path) -> None:
    root = _split(tmp_path / "split")
    (root / "ANGER" / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    dataset = LSDImageFolder(root, EvalTransform(16))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batches = list(DataLoader(dataset, batch_size=3, num_workers=0))
    assert len(batches) == 1
    [warning] = [w for w in caught if "replaced" in str(w.message)]
    assert warning.filename == __file__  # the DataLoader loop above
    assert "0.png" in str(warning.message)


def test_a_left_out_file_is_reported_at_the_constructor_call(tmp_path: Path) -> None:
    root = _split(tmp_path / "split")
    (root / "ANGER" / "notes.jpg").write_text("not an image")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LSDImageFolder(root)
    [warning] = caught
    assert warning.filename == __file__
    assert "notes.jpg" in str(warning.message)


def test_internal_code_is_the_library_torch_and_the_standard_library() -> None:
    assert user_warnings._is_internal(user_warnings.__file__)
    assert user_warnings._is_internal(torch.__file__)
    assert user_warnings._is_internal(os.__file__)
    assert not user_warnings._is_internal(__file__)

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from lightly_byel.data.coded_names import JAFFE, KDEF


def names(dataset: JAFFE | KDEF) -> list[str]:
    return [os.path.basename(path) for path, _ in dataset.samples]


def test_jaffe_reads_subject_and_expression_from_the_names(
    tmp_path: Path, picture: Callable[..., Path], stray: Callable[[Path], None]
) -> None:
    root = tmp_path / "jaffedbase"
    for name in (
        "KA.AN1.39.tiff",
        "KA.NE2.27.tiff",
        "KL.SU3.166.TIFF",
        "NA.DI1.214.tiff",
        "YM.FE2.65.tif",
        "TM.HA1.180.tiff",
        "UY.SA4.142.tiff",
        "KA_happy_01.tiff",  # not a JAFFE name
    ):
        picture(root / name, "L", (256, 256), 120)
    (root / "README").write_text("The Japanese Female Facial Expression database\n")
    stray(root)
    picture(tmp_path / "__MACOSX" / "jaffedbase" / "KM.HA1.4.tiff")
    with pytest.warns(
        UserWarning, match=r"1 image file .*KA_happy_01.tiff.* not named"
    ):
        dataset = JAFFE(tmp_path)
    assert names(dataset) == [
        "KA.AN1.39.tiff",
        "KL.SU3.166.TIFF",
        "NA.DI1.214.tiff",
        "TM.HA1.180.tiff",
        "UY.SA4.142.tiff",
        "YM.FE2.65.tif",
    ]
    assert dataset.targets == [0, 5, 1, 3, 4, 2]
    assert dataset.subjects == ["KA", "KL", "NA", "TM", "UY", "YM"]
    assert dataset.skipped == {"neutral": 1}
    assert dataset.unmatched_files == [str(root / "KA_happy_01.tiff")]
    image, label = dataset[0]
    assert (image.mode, image.size, label) == ("RGB", (256, 256), 0)
    assert image.getpixel((0, 0)) == (120, 120, 120)
    with Image.open(root / "KA.AN1.39.tiff") as tiff:
        assert (tiff.format, tiff.mode) == ("TIFF", "L")


def test_kdef_reads_session_subject_expression_and_angle(
    tmp_path: Path, picture: Callable[..., Path], stray: Callable[[Path], None]
) -> None:
    root = tmp_path / "KDEF_and_AKDEF" / "KDEF"
    for folder, files in {
        "AF01": ["AF01ANS.JPG", "AF01AFHL.JPG", "AF01NES.JPG", "AF01SUFR.JPG"],
        "BF01": ["BF01HAS.JPG", "BF01DIS.jpg"],
        "AM10": ["AM10SAS.JPG", "AM10SAFL.JPG", "AM10XXS.JPG"],
    }.items():
        for name in files:
            picture(root / folder / name, size=(56, 76))
        stray(root / folder)
    picture(root / "README.jpg")
    with pytest.warns(UserWarning, match=r"2 image files .*AM10XXS.JPG.*README"):
        dataset = KDEF(tmp_path)
    assert dataset.unmatched_files == [
        str(root / "AM10" / "AM10XXS.JPG"),
        str(root / "README.jpg"),
    ]
    assert names(dataset) == [
        "AF01AFHL.JPG",
        "AF01ANS.JPG",
        "AF01SUFR.JPG",
        "AM10SAFL.JPG",
        "AM10SAS.JPG",
        "BF01DIS.jpg",
        "BF01HAS.JPG",
    ]
    assert dataset.targets == [2, 0, 5, 4, 4, 1, 3]
    # One person in both sessions.
    assert dataset.subjects == ["F01", "F01", "F01", "M10", "M10", "F01", "F01"]
    assert dataset.skipped == {"neutral": 1}
    with pytest.warns(UserWarning):
        straight = KDEF(root, angles=["S"])
    assert names(straight) == [
        "AF01ANS.JPG",
        "AM10SAS.JPG",
        "BF01DIS.jpg",
        "BF01HAS.JPG",
    ]
    assert straight.angles == ("S",) and straight.skipped == {"neutral": 1}
    with pytest.warns(UserWarning):
        sides = KDEF(root, angles=("HL", "FR"))
    assert names(sides) == ["AF01AFHL.JPG", "AF01SUFR.JPG"]
    assert sides.targets == [2, 5] and sides.skipped == {}


def test_unknown_angles_and_empty_folders_are_refused(tmp_path: Path) -> None:
    for angles in (["UP"], ["S", "s"], []):
        with pytest.raises(ValueError, match=r"angles must be among \['FL', 'HL'"):
            KDEF(tmp_path, angles=angles)
    with pytest.raises(FileNotFoundError, match=r"JAFFE folder .* does not exist"):
        JAFFE(tmp_path / "none")
    with pytest.raises(ValueError, match="no face of the six classes"):
        JAFFE(tmp_path)

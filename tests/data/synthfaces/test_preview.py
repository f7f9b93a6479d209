import pytest

from lightly_byel.data.synthfaces.preview import contact_sheet


def test_contact_sheet_grid() -> None:
    sheet = contact_sheet(image_size=20, columns=3, identities=5)
    assert sheet.mode == "RGB"
    assert sheet.width > 3 * 20 and sheet.height > 12 * 20


def test_more_columns_than_identities() -> None:
    with pytest.raises(ValueError, match="columns"):
        contact_sheet(columns=4, identities=3)


def test_the_sheet_shows_the_framing_asked_for() -> None:
    aligned = contact_sheet(image_size=20, columns=2, identities=2)
    loose = contact_sheet(image_size=20, columns=2, identities=2, framing="loose")
    assert aligned.size == loose.size
    assert aligned.tobytes() != loose.tobytes()

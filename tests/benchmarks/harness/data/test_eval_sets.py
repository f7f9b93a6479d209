from typing import get_args

from harness.config.settings import EvalFormat

from lightly_byel.data.formats import FORMATS


def test_the_setting_lists_the_formats_of_the_library() -> None:
    assert list(FORMATS) == list(get_args(EvalFormat))

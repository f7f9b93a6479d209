import dataclasses
from pathlib import Path
from typing import Literal

import pytest
from harness.config.declared import (
    check_value,
    declared_fields,
    from_mapping,
    like,
    parse_script_flags,
    setting,
)
from harness.config.settings import ModelSettings
from harness.scripts.step_flags import StepOptions


@dataclasses.dataclass(frozen=True)
class Flags:
    images: Path = setting(help="image folder", flag="images")
    steps: int = setting(5, "timed steps", flag="steps", minimum=1)
    sizes: tuple[int, ...] = setting((64,), "input sizes", flag="sizes", minimum=8)
    mode: Literal["fast", "slow"] = setting("fast", "how to run", flag="mode")
    fmt: str = setting("flat", "format", flag="format", choices=("flat", "lsd"))
    quiet: bool = setting(False, "print less", flag="quiet")
    size: int = like(ModelSettings, "input_size", flag="size", default=32)
    hidden: int = setting(3, "no flag: kept at its default")

    def __post_init__(self) -> None:
        if self.mode == "slow" and self.steps > 10:
            raise ValueError("--mode slow takes at most 10 steps.")


def _parse(argv: list[str]) -> Flags:
    return parse_script_flags(Flags, "benchmarks/x.py", "X.", argv)


def test_flags_come_from_the_declarations() -> None:
    flags = _parse(["--images", "in", "--sizes", "64,112", "--sizes", "32"])
    assert flags == Flags(images=Path("in"), sizes=(64, 112, 32))
    flags = _parse(
        ["--images", "in", "--steps", "7", "--mode", "slow", "--quiet", "--size", "9"]
    )
    assert (flags.steps, flags.mode, flags.quiet, flags.size) == (7, "slow", True, 9)


USAGE_ERRORS = {
    "the following arguments are required: --images": [],
    "--steps must be at least 1, got 0.": ["--steps", "0"],
    "--steps must be a whole number, got 'x'.": ["--steps", "x"],
    "--sizes must be at least 8, got 4.": ["--sizes", "64,4"],
    "--sizes names 64 more than once": ["--sizes", "64,64"],
    "invalid choice: 'medium'": ["--mode", "medium"],
    "invalid choice: 'csv'": ["--format", "csv"],
    # The reused declaration brings the benchmark's bound along.
    "--size must be at least 8, got 4.": ["--size", "4"],
    "--mode slow takes at most 10 steps.": ["--mode", "slow", "--steps", "11"],
}
"""Each usage error's message, and a command line that makes it."""


@pytest.mark.parametrize(("message", "argv"), USAGE_ERRORS.items())
def test_bad_flags_are_usage_errors_naming_the_flag(
    message: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    if "--images" not in argv and argv:
        argv = ["--images", "in", *argv]
    with pytest.raises(SystemExit) as stopped:
        _parse(argv)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert message in error, error
    assert error.count("\n") == 1  # one line, no usage text


def test_help_shows_the_defaults_and_the_shared_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        _parse(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "timed steps (default: 5)" in shown
    assert "input sizes (default: 64)" in shown
    assert f"{ModelSettings.__dataclass_fields__['input_size'].metadata['help']}" in (
        shown
    )
    assert "--hidden" not in shown


def test_like_copies_a_declaration_with_changes() -> None:
    (images,) = [f for f in declared_fields(StepOptions) if f.name == "input_size"]
    (model,) = [f for f in declared_fields(ModelSettings) if f.name == "input_size"]
    assert images.meta == model.meta
    # Changed help and flag, the bound kept: batch norm needs two samples.
    (batch,) = [f for f in declared_fields(StepOptions) if f.name == "batch_size"]
    assert (batch.flag, batch.meta["minimum"]) == ("batch_size", 2)
    assert batch.meta["help"] == "images per batch (of each view)"


def test_step_options_refuse_a_missing_cuda_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA device"):
        StepOptions(device="cuda")
    assert StepOptions(device="auto").resolved().device == "cpu"


@pytest.mark.parametrize(
    ("annotation", "value", "meta", "message"),
    [
        (Path, "", {}, "x must name a file or folder, got ''."),
        (str, "", {"minimum": 1}, "x must not be empty"),
        (str, "w.pt", {"prefix": "models/"}, "x must start with 'models/'"),
        (list[float], [1.0], {"length": 2}, "x must have 2 elements"),
        (list[float], [0.7, 0.6], {"ordered": True}, "x must not decrease"),
        (list[list[int]], [[1, 2]], {"square": True}, "x must be square"),
        (list[list[int]], [[-1]], {"minimum": 0}, "x must be at least 0"),
        (dict[str, float], {"a": "b"}, {}, "x['a'] must be a finite number"),
        (dict[str, float], {1: 0.5}, {}, "x must be an object with text keys"),
        (float | None, "0.5", {}, "x must be a finite number, got '0.5'"),
    ],
)
def test_the_validator_names_what_was_expected(
    annotation: object, value: object, meta: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        check_value(annotation, value, "x", meta)


def test_records_of_nested_declarations_read_back() -> None:
    @dataclasses.dataclass(frozen=True)
    class Inner:
        f1: float = setting(help="F1")

    @dataclasses.dataclass(frozen=True)
    class Outer:
        sets: dict[str, Inner] = setting(help="by name", default_factory=dict)
        note: str | None = setting(None, "optional")

    assert from_mapping(Outer, {"sets": {"a": {"f1": 1}}, "extra": 0}, "o") == Outer(
        sets={"a": Inner(1.0)}
    )
    assert from_mapping(Outer, {}, "o") == Outer()
    with pytest.raises(ValueError, match=r"o: 'sets'\['a'\] lacks 'f1'"):
        from_mapping(Outer, {"sets": {"a": {}}}, "o")
    with pytest.raises(ValueError, match="o must be an object, got list"):
        from_mapping(Outer, [], "o")

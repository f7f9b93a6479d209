from pathlib import Path

import pytest
from harness.config.mapping_files import MAX_NODES, read_mapping


def written(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "epochs: 3\nlr: 0.1\nepochs: 5\n",
            "the key 'epochs' is given twice, on lines 1 and 3; keep one.",
        ),
        (
            "pretrain:\n  lr: 0.1\n  epochs: 2\n  lr: 0.2\n",
            "the key 'lr' is given twice, on lines 2 and 4; keep one.",
        ),
        (
            "run: {seeds: [0], seeds: [1]}\n",
            "the key 'seeds' is given twice, on lines 1 and 1; keep one.",
        ),
    ],
)
def test_a_yaml_key_given_twice_is_refused_with_its_lines(
    tmp_path: Path, text: str, message: str
) -> None:
    path = written(tmp_path, "run.yaml", text)
    with pytest.raises(ValueError) as error:
        read_mapping(path)
    assert str(error.value) == f"{path}: {message}"


KEY = "k" * 100_000


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "run.yaml",
            f"? {KEY}\n: 1\n? {KEY}\n: 2\n",
            "is given twice, on lines 1 and 3",
        ),
        ("run.json", f'{{"{KEY}": 1, "{KEY}": 2}}', "is given twice"),
    ],
    ids=["yaml", "json"],
)
def test_a_long_key_given_twice_is_quoted_short(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = written(tmp_path, name, text)
    with pytest.raises(ValueError, match=message) as error:
        read_mapping(path)
    assert len(str(error.value)) < 500


def test_a_merged_mapping_may_be_overridden(tmp_path: Path) -> None:
    # "<<: *defaults" followed by a key is YAML's way to override, not a conflict.
    path = written(
        tmp_path,
        "run.yaml",
        "defaults: &defaults {epochs: 3, lr: 0.1}\n"
        "pretrain:\n  <<: *defaults\n  epochs: 4\n",
    )
    assert read_mapping(path)["pretrain"] == {"epochs": 4, "lr": 0.1}


def test_a_few_aliases_are_read(tmp_path: Path) -> None:
    path = written(tmp_path, "run.yaml", "a: &seeds [0, 1, 2]\nb: *seeds\nc: *seeds\n")
    assert read_mapping(path) == {"a": [0, 1, 2], "b": [0, 1, 2], "c": [0, 1, 2]}


def alias_bomb(levels: int) -> str:
    """A document of a few kilobytes whose aliases stand for 10 ** levels values."""
    lines = [f"l0: &l0 [{', '.join(['xxxxxxxxxx'] * 10)}]"]
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "text",
    [
        alias_bomb(9),
        # The same bomb as a key: keys are counted too.
        alias_bomb(9) + "? *l8\n: 1\n",
    ],
)
def test_an_alias_bomb_is_refused_with_a_short_message(
    tmp_path: Path, text: str
) -> None:
    path = written(tmp_path, "bomb.yaml", text)
    assert path.stat().st_size < 3000
    with pytest.raises(ValueError) as error:
        read_mapping(path)
    assert str(error.value) == (
        f"{path}: its aliases expand to more than {MAX_NODES:,} values, far more "
        "than a settings file holds; write the values out."
    )


def test_an_alias_of_itself_is_refused(tmp_path: Path) -> None:
    path = written(tmp_path, "loop.yaml", "a: &a [*a]\n")
    with pytest.raises(ValueError, match="nests its YAML too deeply"):
        read_mapping(path)


@pytest.mark.parametrize(
    "text",
    ['{"settings": 1, "settings": 2}', '{"run": {"seeds": [0], "seeds": [1]}}'],
)
def test_a_json_key_given_twice_is_refused(tmp_path: Path, text: str) -> None:
    path = written(tmp_path, "run.json", text)
    with pytest.raises(ValueError, match=r"the key '\w+' is given twice; keep one\."):
        read_mapping(path)

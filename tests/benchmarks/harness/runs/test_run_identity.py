import os
from dataclasses import replace
from pathlib import Path

import pytest
from harness.config.presets import preset
from harness.runs.identity import (
    code_identity,
    data_identity,
    differences,
    read_identity,
    settings_identity,
)

from lightly_byel.data import LSDImageFolder
from lightly_byel.data.synthfaces import generate


def test_methods_seeds_and_output_are_not_part_of_the_identity() -> None:
    config = preset("smoke")
    other = replace(
        config,
        run=replace(
            config.run, methods=("byol",), seeds=(3, 4), output="x", resume=True
        ),
    )
    assert settings_identity(config) == settings_identity(other)
    longer = replace(config, pretrain=replace(config.pretrain, epochs=9))
    assert differences(settings_identity(config), settings_identity(longer)) == [
        "settings.pretrain.epochs: 1 -> 9"
    ]
    linear = replace(config, run=replace(config.run, protocols=("linear",)))
    assert differences(settings_identity(config), settings_identity(linear)) == [
        'settings.run.protocols: ["linear", "finetune"] -> ["linear"]'
    ]


def test_the_data_fingerprint_follows_the_files(tmp_path: Path) -> None:
    generate(tmp_path, images_per_class=1, image_size=32)
    train = LSDImageFolder(tmp_path / "training_set_synthetic_images")
    evaluation = LSDImageFolder(tmp_path / "validation_set_real_images")
    before = data_identity(train, evaluation)
    assert before == data_identity(train, evaluation)
    path = Path(train.samples[0][0])
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000))
    after = data_identity(LSDImageFolder(train.root), evaluation)
    assert after["train"] != before["train"] and after["eval"] == before["eval"]
    assert evaluation.fingerprint() == before["eval"]
    assert set(before) == {"train", "eval"}
    # Further evaluation sets are part of the data a resumed run must match.
    with_other = data_identity(train, evaluation, {"lsd:other": train})
    assert with_other["other_evals"] == {"lsd:other": train.fingerprint()}


def test_the_code_identity_names_versions_and_the_source() -> None:
    code = code_identity()
    assert set(code) == {"lightly_byel", "source_sha256", "torch", "pytorch_lightning"}
    assert len(code["source_sha256"]) == 64 and code == code_identity()


def test_an_unreadable_identity_is_an_error(tmp_path: Path) -> None:
    assert read_identity(tmp_path) is None
    (tmp_path / "run.json").write_text("{torn")
    with pytest.raises(ValueError, match=r"run\.json is not valid JSON"):
        read_identity(tmp_path)

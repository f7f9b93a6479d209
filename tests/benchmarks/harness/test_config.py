import re
from pathlib import Path

import pytest
import yaml
from harness.config import (
    FLAGS,
    PRESETS,
    BenchmarkConfig,
    apply,
    check,
    from_dict,
    parser,
    preset,
    resolve,
    to_dict,
)


def test_presets() -> None:
    for name in PRESETS:
        assert preset(name).preset == name
    paper = preset("paper")
    assert (paper.model.backbone, paper.model.input_size) == ("resnet50", 128)
    assert paper.pretrain.batch_size_per_device == 256
    assert paper.pretrain.epochs == 100
    assert (paper.pretrain.optimizer, paper.pretrain.lr) == ("lars", 0.2)
    assert paper.pretrain.weight_decay == 1.5e-6
    assert paper.evaluation.finetune_lr == 1e-4
    smoke = preset("smoke")
    assert (
        smoke.data.synthetic_images_per_class
        < preset("default").data.synthetic_images_per_class
    )
    with pytest.raises(ValueError, match="unknown preset 'fast'"):
        preset("fast")


def test_flags_override_file_override_preset(tmp_path: Path) -> None:
    file = tmp_path / "run.yaml"
    file.write_text(
        yaml.safe_dump(
            {
                "preset": "smoke",
                "epochs": 3,
                "model": {"hidden_dim": 48},
                "methods": ["byel", "byol"],
            }
        )
    )
    config = resolve(["--config", str(file), "--epochs", "5", "--seeds", "1,2"])
    assert config.preset == "smoke"
    assert config.pretrain.epochs == 5
    assert config.model.hidden_dim == 48
    assert config.run.methods == ("byel", "byol")
    assert config.run.seeds == (1, 2)
    assert config.data.synthetic_images_per_class == 12


def test_every_flag_can_be_set_in_a_file() -> None:
    config = BenchmarkConfig()
    values = {
        "batch_size_per_device": 8,
        "resume": True,
        "backbone": "timm:resnet10t",
        "protocols": ["linear"],
        "eval_format": "lsd",
        "pipeline": "cache",
        "cache_size": 96,
        "optimizer_impl": "for-loop",
        "compile": True,
    }
    changed = apply(config, values, "test")
    assert changed.data.pipeline == "cache" and changed.data.cache_size == 96
    assert changed.pretrain.optimizer_impl == "for-loop"
    assert changed.model.compile is True
    assert changed.pretrain.batch_size_per_device == 8
    assert changed.evaluation.batch_size_per_device == 8
    assert changed.run.resume is True
    assert changed.model.backbone == "timm:resnet10t"
    assert changed.run.protocols == ("linear",)
    options = {
        option.lstrip("-")
        for action in parser()._actions
        for option in action.option_strings
    }
    for flag in FLAGS:
        assert flag.replace("_", "-") in options, flag


def test_resolved_config_round_trips() -> None:
    config = resolve(
        [
            *("--preset", "smoke", "--methods", "byel", "--epochs", "2"),
            *("--pipeline", "cache", "--cache-size", "24", "--compile"),
        ]
    )
    again = from_dict(yaml.safe_load(yaml.safe_dump(to_dict(config))))
    assert again == config


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"colour": 1}, "unknown setting 'colour'"),
        ({"model": {"depth": 3}}, "model has no setting 'depth'"),
        ({"model": 3}, "section 'model' must be a mapping"),
        ({"epochs": "many"}, r"pretrain.epochs must be a number, got 'many'"),
        ({"resume": "yes"}, "run.resume must be true or false"),
        ({"epochs": 2.5}, r"pretrain.epochs must be a whole number, got 2.5"),
    ],
)
def test_bad_file_values_raise(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply(BenchmarkConfig(), values, "file")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--methods", "byel,mae"], r"unknown methods \['mae'\]"),
        (["--train-dir", "a"], "--train-dir and --eval-dir go together"),
        (["--data-root", "a", "--eval-dir", "b", "--train-dir", "c"], "not both"),
        (["--eval-format", "affwild2-expr"], "needs --eval-dir"),
        (["--eval-annotations", "x"], "needs --eval-format affwild2-expr"),
        (["--protocols", "knn"], r"unknown protocols \['knn'\]"),
        (["--config", "missing.yaml"], "does not exist"),
        (["--epochs", "0"], "must be at least 1"),
        (["--pipeline", "gpu"], "invalid choice: 'gpu'"),
        (["--cache-size", "4"], "must be at least 8"),
        (
            ["--optimizer", "lars", "--optimizer-impl", "fused"],
            "not available for LARS",
        ),
    ],
)
def test_usage_errors_name_the_problem(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        resolve(argv)
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"pipeline": "gpu"}, "data.pipeline must be 'files' or 'cache', got 'gpu'"),
        ({"cache_size": -2}, "data.cache_size must be a positive whole number"),
        ({"optimizer_impl": "magic"}, "pretrain.optimizer_impl must be"),
    ],
)
def test_checked_file_values_raise(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check(apply(BenchmarkConfig(), values, "file"))

import re
from pathlib import Path

import pytest
import yaml
from harness.config.presets import PRESETS, preset
from harness.config.settings import BenchmarkConfig
from harness.config.sources import (
    apply,
    declared_settings,
    flag_targets,
    from_dict,
    to_dict,
)
from harness.runs.command_line import parser, resolve


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
    for flag in flag_targets():
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
        ({"epochs": "many"}, r"pretrain.epochs must be a whole number, got 'many'"),
        ({"resume": "yes"}, "run.resume must be true or false"),
        ({"epochs": 2.5}, r"pretrain.epochs must be a whole number, got 2.5"),
        ({"seeds": [0, 0]}, r"run.seeds names 0 more than once"),
        ({"methods": "byel,byel"}, r"run.methods names 'byel' more than once"),
        ({"seeds": "0,x"}, r"run.seeds must be a whole number, got 'x'"),
        ({"seeds": []}, r"run.seeds must not be empty"),
        ({"backbone": ["resnet18"]}, r"model.backbone must be text"),
        ({"lr": float("nan")}, r"pretrain.lr must be a finite number, got nan"),
        ({"lr": 0}, r"pretrain.lr must be greater than 0.0, got 0.0"),
        ({"batch_size_per_device": 1}, r"batch_size_per_device must be at least 2"),
        ({"evaluation": {"dropout": 2}}, r"evaluation.dropout must be less than 1.0"),
        (
            {"evaluation": {"bootstrap_samples": 0}},
            r"evaluation.bootstrap_samples must be at least 1, got 0",
        ),
        ({"precision": "bf16-true"}, r"run.precision must be one of '32-true'"),
        ({"pipeline": "gpu"}, r"data.pipeline must be one of 'files', 'cache'"),
        ({"cache_size": -2}, "data.cache_size must be at least 8, got -2"),
        ({"model": {"num_classes": 2}}, "model.num_classes must be at least 6, got 2"),
        ({"model": {"num_classes": 7}}, "model.num_classes must be at most 6, got 7"),
        ({"optimizer_impl": "magic"}, "pretrain.optimizer_impl must be one of"),
        ({"class_balance": "oversample"}, "evaluation.class_balance must be one of"),
        ({"eval_format": "tiff"}, "data.eval_format must be one of 'lsd'"),
        (
            {"evaluation": {"finetune_head": "probe"}},
            "evaluation.finetune_head must be one of 'random', 'linear-probe', got "
            "'probe'",
        ),
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
        (["--protocols", "knn"], r"unknown protocols \['knn'\]; expected names from"),
        (["--config", "missing.yaml"], "does not exist"),
        (["--epochs", "0"], "must be at least 1"),
        (["--pipeline", "gpu"], "invalid choice: 'gpu'"),
        (["--cache-size", "4"], "--cache-size must be at least 8, got 4"),
        (["--seeds", "0,0"], "--seeds names 0 more than once"),
        (["--methods", "byel,byel"], "--methods names 'byel' more than once"),
        (["--lr", "nan"], "--lr must be a finite number, got 'nan'"),
        (["--precision", "64-true"], "--precision must be one of"),
        (
            ["--batch-size-per-device", "1"],
            "--batch-size-per-device must be at least 2",
        ),
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


def test_file_values_of_other_types_are_read_as_meant() -> None:
    config = apply(
        BenchmarkConfig(),
        {"devices": 3, "seeds": "0,1", "epochs": 4.0, "cache_size": None},
        "file",
    )
    assert config.run.devices == "3"
    assert config.run.seeds == (0, 1)
    assert config.pretrain.epochs == 4 and isinstance(config.pretrain.epochs, int)
    assert config.data.cache_size is None


def test_every_setting_has_help_and_known_bounds() -> None:
    for setting in declared_settings().values():
        assert setting.declaration.metadata["help"], setting.key


def test_the_usage_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        resolve(["--epochs", "0"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "python benchmarks/affwild2.py: error: --epochs must be at least 1, got 0. "
        "(--help lists the settings)"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "epochs: 3\nlr: 0.1\nepochs: 5\n",
            "the key 'epochs' is given twice, on lines 1 and 3",
        ),
        (
            "pretrain:\n  lr: 0.1\n  lr: 0.2\n",
            "the key 'lr' is given twice, on lines 2 and 3",
        ),
        (
            "epochs: 3\npretrain: {epochs: 5}\n",
            "'epochs' and 'pretrain: epochs' both set pretrain.epochs",
        ),
        (
            "num-workers: 1\nnum_workers: 2\n",
            "'num-workers' and 'num_workers' both set data.num_workers",
        ),
        (
            "batch_size_per_device: 32\nevaluation: {batch_size_per_device: 64}\n",
            "'batch_size_per_device' and 'evaluation: batch_size_per_device' both set",
        ),
    ],
)
def test_a_file_that_sets_a_setting_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    error = file_error(tmp_path, capsys, text)
    assert message in error and "keep one" in error, error


def file_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    """What the command line prints for a settings file holding ``text``."""
    (tmp_path / "run.yaml").write_text(text)
    with pytest.raises(SystemExit):
        resolve(["--config", str(tmp_path / "run.yaml")])
    return capsys.readouterr().err


def test_flags_still_override_the_file(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text("epochs: 3\n")
    assert (
        resolve(
            ["--config", str(tmp_path / "run.yaml"), "--epochs", "5"]
        ).pretrain.epochs
        == 5
    )


def test_an_alias_bomb_is_refused_with_a_short_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ['a: &a ["xxxxxxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxxxxxx", "xxxxxxxxxxxx"]']
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [{', '.join([f'*{previous}'] * 9)}]")
    lines.append("methods: *j")
    bomb = "\n".join(lines) + "\n"
    assert len(bomb.encode()) < 3000
    error = file_error(tmp_path, capsys, bomb)
    assert "aliases expand to more than 100,000 values" in error
    assert len(error) < 500


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"optimizer: {'x' * 100_000}\n",
            "optimizer must be one of 'lars', 'sgd', 'adamw', got 'xxxx",
        ),
        (f"preset: {'p' * 100_000}\n", "unknown preset 'ppp"),
    ],
    ids=["value", "preset"],
)
def test_long_values_are_quoted_short(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    error = file_error(tmp_path, capsys, text)
    assert message in error
    assert len(error) < 500


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "-1"], "--seeds must be at least 0, got -1"),
        (["--seeds", "0,4294967296"], "--seeds must be at most 4294967295"),
        (["--ddp-timeout-minutes", "1e12"], "--ddp-timeout-minutes must be at most"),
    ],
)
def test_values_that_fail_late_are_refused_at_once(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        resolve(argv)
    assert message in capsys.readouterr().err


def test_no_two_flags_set_one_setting() -> None:
    # Two flags for one setting would be two spellings of it, and apply would
    # refuse a file or command line that gave both.
    keys = [setting.key for targets in flag_targets().values() for setting in targets]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    "text",
    [
        f"methods: [{'x' * 100_000}]\n",
        f"methods: [{', '.join(f'name{i}' for i in range(20_000))}]\n",
        f"protocols: [{'x' * 100_000}]\n",
    ],
)
def test_unknown_names_are_quoted_short(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    (tmp_path / "run.yaml").write_text(text)
    with pytest.raises(SystemExit):
        resolve(["--config", str(tmp_path / "run.yaml")])
    error = capsys.readouterr().err
    assert re.search(r"error: unknown (methods|protocols) \['\w+", error), error[:500]
    assert len(error) < 700


def test_a_config_name_the_file_system_refuses_is_one_short_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        resolve(["--config", "x" * 100_000])
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "error: configuration file 'xxx" in line and "cannot be read" in line
    assert len(line) < 500


def test_adamw_is_named_so_and_adam_still_reads_as_adamw(tmp_path: Path) -> None:
    assert resolve(["--optimizer", "adamw"]).pretrain.optimizer == "adamw"
    assert resolve(["--optimizer", "adam"]).pretrain.optimizer == "adamw"
    file = tmp_path / "old.yaml"
    file.write_text("pretrain:\n  optimizer: adam\n")
    assert resolve(["--config", str(file)]).pretrain.optimizer == "adamw"
    assert preset("default").pretrain.optimizer == "adamw"
    text = " ".join(parser().format_help().split())
    assert "--optimizer {lars,sgd,adamw}" in text
    assert "{lars,sgd,adamw,adam}" not in text


def test_output_dim_is_lightlys_name_and_out_dim_still_reads(tmp_path: Path) -> None:
    file = tmp_path / "old.yaml"
    file.write_text("model:\n  out_dim: 64\n")
    assert resolve(["--config", str(file)]).model.output_dim == 64
    file.write_text("model:\n  out_dim: 64\n  output_dim: 32\n")
    with pytest.raises(SystemExit):
        resolve(["--config", str(file)])
    with pytest.raises(ValueError, match=r"both set model\.output_dim"):
        apply(preset("default"), {"model": {"out_dim": 64, "output_dim": 32}}, "file")


def test_a_warmup_as_long_as_the_pretraining_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "warm.yaml"
    file.write_text("pretrain:\n  warmup_epochs: 3\n")
    assert resolve(["--config", str(file), "--epochs", "4"]).pretrain.epochs == 4
    with pytest.raises(SystemExit) as stopped:
        resolve(["--config", str(file), "--epochs", "3"])
    assert stopped.value.code == 2
    assert "pretrain.warmup_epochs is 3, not less than --epochs (3)" in (
        capsys.readouterr().err
    )

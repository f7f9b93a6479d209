import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from harness.config.flags import config_yaml, parse, parser
from harness.config.presets import preset
from harness.config.sources import declared_settings, from_dict
from harness.runs.command_line import resolve

ROOT = Path(__file__).resolve().parents[4]


def test_help_lists_every_file_only_setting_with_its_default() -> None:
    text = parser().format_help()
    defaults = preset("default")
    file_only = [s for s in declared_settings().values() if s.flag is None]
    # The settings the error messages promise: "--help lists the settings".
    assert {"evaluation.finetune_lr", "model.hidden_dim", "pretrain.temperature"} <= {
        s.key for s in file_only
    }
    for setting in file_only:
        value = getattr(getattr(defaults, setting.section), setting.name)
        line = f"  {setting.key}: "
        assert line in text, setting.key
        shown = text.split(line, 1)[1].split("\n", 1)[0]
        assert yaml.safe_load(shown) == (
            list(value) if isinstance(value, tuple) else value
        )
    assert "--print-config" in text


def test_flags_show_the_default_presets_values() -> None:
    text = " ".join(parser().format_help().split())
    defaults = preset("default")
    assert f"(default: {defaults.pretrain.epochs})" in text
    assert f"(default: {defaults.model.backbone})" in text


def test_print_config_prints_yaml_that_config_reads_back(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as stopped:
        resolve(["--preset", "smoke", "--epochs", "3", "--print-config"])
    assert stopped.value.code == 0
    printed = capsys.readouterr().out
    values = yaml.safe_load(printed)
    assert values["preset"] == "smoke" and values["pretrain"]["epochs"] == 3
    file = tmp_path / "run.yaml"
    file.write_text(printed, encoding="utf-8")
    again = resolve(["--config", str(file)])
    assert again == from_dict(values)
    assert config_yaml(again) == printed


def test_print_config_checks_first(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        resolve(["--methods", "byel,nope", "--print-config"])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "unknown methods ['nope']" in captured.err


def test_parse_reads_control_flags_apart_from_settings() -> None:
    parsed = parse(["--debug", "--preset", "smoke"])
    assert parsed.debug and not parsed.print_config
    assert parsed.config.preset == "smoke"


@pytest.mark.parametrize("arguments", [["--help"], ["--epochs", "x"]])
def test_help_and_flag_errors_do_not_import_torch(arguments: list[str]) -> None:
    # What makes --help answer at once: the program must not load torch (seconds)
    # before it has read its flags. Its wall time is measured in
    # benchmarks/help_time.py.
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['affwild2.py', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_path('benchmarks/affwild2.py', run_name='__main__')\n"
        "except SystemExit as stop:\n"
        "    loaded = sorted(m for m in ('torch', 'pytorch_lightning') "
        "if m in sys.modules)\n"
        "    print('LOADED', loaded, 'STATUS', stop.code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "benchmarks"), "PATH": ""},
        timeout=120,
    )
    status = 0 if arguments == ["--help"] else 2
    assert f"LOADED [] STATUS {status}" in result.stdout, result.stdout + result.stderr

from harness.reporting.markdown import results_markdown
from harness.reporting.records import RunRecord
from harness.reporting.report import TITLES

CLASSES = ["ANGER", "HAPPINESS"]


def record(
    method: str, seed: int, protocol: str, macro_f1: float, holdout: float | None
) -> RunRecord:
    return RunRecord(
        method=method,
        seed=seed,
        protocol=protocol,
        macro_f1=macro_f1,
        accuracy=macro_f1 + 0.1,
        per_class_f1={"ANGER": macro_f1 - 0.1, "HAPPINESS": macro_f1 + 0.1},
        macro_f1_ci95=[macro_f1 - 0.05, macro_f1 + 0.05],
        holdout_macro_f1=holdout,
        confusion_matrix=[[3, 1], [2, 4]],
        selection=f"holdout macro F1, epoch {seed + 1}",
        train_seconds=2.5,
        images_per_second=40.0,
        pretrain_seconds=10.0,
        pretrain_images_per_second=None,
    )


RUNS = [
    record("byel", 0, "finetune", 0.3, holdout=0.8),
    record("byel", 1, "finetune", 0.4, holdout=0.9),
    record("byol", 0, "finetune", 0.2, holdout=None),
    record("byel", 0, "linear", 0.25, holdout=0.5),
]


def test_markdown_tables() -> None:
    text = results_markdown(RUNS, CLASSES, TITLES)
    linear = text.index("## Linear probe")
    finetune = text.index("## Fine-tuning")
    assert linear < finetune
    # byel fine-tuned with two seeds: mean 0.35, sample std 0.0707; its holdout
    # (in-domain) score sits beside the eval split's.
    assert (
        "| byel | 0.3500 ± 0.0707 | [0.3000, 0.4000] | 0.8500 ± 0.0707 | "
        "0.4500 ± 0.0707 | 2 | holdout macro F1 (epochs 1, 2) |"
    ) in text
    # A run without a holdout split has no in-domain score.
    assert "| byol | 0.2000 ± n/a | [0.1500, 0.2500] | n/a | 0.3000 ± n/a |" in text
    assert "| method | ANGER | HAPPINESS |" in text
    assert "| byel | 0.250 ± 0.071 | 0.450 ± 0.071 |" in text
    assert text.endswith("|\n")


def test_markdown_without_runs() -> None:
    assert "No runs" in results_markdown([], CLASSES, TITLES)

"""One command for every GPU figure: CUDA tests, throughput, BYEL/BYOL, paper run.

It runs these sections in order, each in subprocesses with a time box of its own (a
share of what is left of ``--budget-s``), so that a hang or a crash in one never
stops the next:

- ``cuda_tests``: ``pytest -m cuda`` (the tests marked ``cuda``), counted from its
  JUnit XML report;
- ``throughput``: ``benchmarks/throughput.py`` for BYEL, BYOL, SimCLR and supervised
  training in the ``device``, ``device-augment`` and ``cache`` modes, on faces the
  generator writes at 112 px: images/s, step time and peak memory of each;
- ``byel_byol_ratio``: the BYEL/BYOL step-time ratio of the harness's own modules
  from alternating ``device`` measurements (goal on a GPU: at most 1.03);
- ``paper_short``: ``benchmarks/affwild2.py --preset paper`` for one epoch of each
  phase on a few thousand generated faces: its pretraining images/s and the hours
  that rate gives for the 27.7 million samples of the paper recipe (goal: 1 h);
- ``ddp``: the same run on two GPUs with DDP, where there are two.

On a GPU the sections train ResNet-50 at 128 px, batch 256, in bf16 mixed precision;
the default budget (420 s) keeps the whole command within 8 minutes on one H100 or
H200, data generation included. A smaller ``--budget-s`` scales the steps, repeats
and images down with the time boxes. Without a CUDA device every section runs in
miniature (a narrow ResNet-10 at 16 px, batch 8, fp32) and the goals are not judged.

Statuses: ``passed`` or ``failed: <reason>`` for the CUDA tests (``skipped: no CUDA
device`` when all of them were skipped for want of one); ``measured`` for a section
that ran to its end, its goal judged beside it (met, not met, or skipped without a
CUDA device); ``failed: <reason>`` for one that crashed or was cut off by its time
box, with what it measured until then; ``skipped: <reason>``.

Run from the repository root::

    python benchmarks/gpu_acceptance.py --output runs/acceptance

It rewrites ``acceptance.json`` and ``acceptance.md`` in ``--output`` after every
section. Each section replaces its own outputs there (``throughput/``,
``byel_byol_ratio/``, ``paper_short/``, ``ddp/``, ``cuda_tests.xml``) and its log
(``logs/<section>.log``); generated faces and caches go to ``--scratch``.
"""

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree

import torch
from harness.config.declared import parse_script_flags, setting
from harness.reporting.results import environment_info, read_results_json

from lightly_byel.utils.atomic_files import write_text_atomic
from lightly_byel.utils.devices import resolve_device

ROOT = Path(__file__).resolve().parents[1]
"""The repository root: every section runs from there."""

REFERENCE_BUDGET_S = 420
"""The default budget, for which the profiles' counts are given."""

PAPER_SAMPLES = 27.7e6
"""Training samples of the paper recipe: 277,251 images for 100 epochs."""

GOAL_RATIO = 1.03
"""Largest BYEL/BYOL step-time ratio accepted on a GPU."""

GOAL_HOURS = 1.0
"""Longest accepted time for the paper recipe on one GPU."""

GRACE_S = 10.0
"""How long a section cut off by its time box has to write what it measured."""

OFFLINE_NOTE = """\
On a machine that lacks some packages and cannot reach a package index: on a
connected machine with the same Python version, build wheels of lightly and of its
small pure-Python dependencies,
    pip wheel --no-deps -w wheels lightly hydra-core omegaconf \\
        "antlr4-python3-runtime==4.9.*"
(pip download --no-deps fetches the same files, but antlr4-python3-runtime 4.9 is a
source archive, which pip wheel turns into a wheel), carry wheels/ with the
repository, and on this machine run
    pip install --no-index --no-deps --target /tmp/site wheels/*.whl
    PYTHONPATH=/tmp/site:. python benchmarks/gpu_acceptance.py --output DIR
The sections inherit PYTHONPATH, with this checkout's lightly_byel first."""


@dataclass(frozen=True)
class Profile:
    """What the sections train and how much, at the reference budget.

    Attributes:
        device: ``cuda`` or ``cpu``.
        backbone: The encoder of every section.
        input_size: Side of the training views in pixels.
        batch_size: Images per step and device.
        precision: Lightning precision.
        image_size: Side of the generated JPEG faces in pixels.
        num_workers: DataLoader workers of the cache pipeline and the paper run.
        generate_workers: Processes generating the paper run's faces.
        warmup: Untimed steps before each throughput measurement.
        steps: Timed steps of each throughput measurement.
        repeats: Alternating measurements of BYEL and of BYOL for the ratio.
        throughput_images_per_class: Generated faces per class for throughput.py.
        paper_images_per_class: Generated faces per class and split for the paper
            run.
    """

    device: str
    backbone: str
    input_size: int
    batch_size: int
    precision: str
    image_size: int
    num_workers: int
    generate_workers: int
    warmup: int
    steps: int
    repeats: int
    throughput_images_per_class: int
    paper_images_per_class: int


CPU_PROFILE = Profile(
    device="cpu",
    backbone="resnet10-w16",
    input_size=16,
    batch_size=8,
    precision="32-true",
    image_size=32,
    num_workers=0,
    generate_workers=1,
    warmup=2,
    steps=6,
    repeats=4,
    throughput_images_per_class=8,
    paper_images_per_class=24,
)
"""A miniature of every section, for a machine without a CUDA device (tests, CI)."""


def gpu_profile() -> Profile:
    """The published setting (ResNet-50, 128 px, batch 256) for one H100 or H200.

    bf16 mixed precision, or fp16 mixed precision on a GPU without bf16. The step,
    repeat and image counts are estimates of what fits the reference budget there;
    no GPU run has timed them yet.
    """
    cores = os.cpu_count() or 1
    return Profile(
        device="cuda",
        backbone="resnet50",
        input_size=128,
        batch_size=256,
        precision="bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed",
        image_size=112,
        num_workers=min(8, cores),
        generate_workers=cores,
        warmup=5,
        steps=20,
        repeats=4,
        throughput_images_per_class=400,
        paper_images_per_class=1000,
    )


def scaled(profile: Profile, scale: float) -> Profile:
    """``profile`` with its steps, repeats and images scaled by ``scale``.

    Each count keeps a floor that still measures something: one warm-up step, two
    timed steps, two measurements of each method for the ratio, and images for two
    batches.

    Examples:
        >>> small = scaled(CPU_PROFILE, 0.1)
        >>> small.warmup, small.steps, small.repeats, small.paper_images_per_class
        (1, 2, 2, 3)
        >>> scaled(CPU_PROFILE, 2.0).steps
        12
    """
    images = -(-2 * profile.batch_size // 6)  # two batches over the six classes

    def count(value: int, floor: int) -> int:
        return max(floor, round(value * scale))

    return replace(
        profile,
        warmup=count(profile.warmup, 1),
        steps=count(profile.steps, 2),
        repeats=count(profile.repeats, 2),
        throughput_images_per_class=count(profile.throughput_images_per_class, images),
        paper_images_per_class=count(profile.paper_images_per_class, images),
    )


@dataclass(frozen=True)
class Context:
    """What every section of one invocation shares.

    Attributes:
        output: The results folder.
        scratch: Where generated faces and caches go.
        profile: The scaled profile.
        device: The training device in words (the GPU's name, or ``cpu``).
        gpus: CUDA devices present.
        env: The environment of the sections' commands.
    """

    output: Path
    scratch: Path
    profile: Profile
    device: str
    gpus: int
    env: dict[str, str]

    @property
    def on_gpu(self) -> bool:
        """Whether the sections train on a CUDA device."""
        return self.profile.device == "cuda"


@dataclass
class Section:
    """One section's entry in ``acceptance.json``."""

    status: str
    figures: dict[str, Any] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0
    time_box_seconds: float = 0.0
    log: str | None = None


@dataclass(frozen=True)
class Finished:
    """How one command ended: its exit status (``None``: cut off) and duration."""

    command: tuple[str, ...]
    returncode: int | None
    seconds: float


def run_command(
    command: Sequence[str],
    timeout_s: float,
    log: Path,
    env: Mapping[str, str] | None = None,
) -> Finished:
    """Runs ``command`` from the repository root, its output appended to ``log``.

    The command runs in a process group of its own. Past ``timeout_s`` seconds the
    group is interrupted (SIGINT: pytest and Lightning then write what they have)
    and killed :data:`GRACE_S` seconds later if anything of it is left.

    Examples:
        >>> import tempfile
        >>> log = Path(tempfile.mkdtemp()) / "sleep.log"
        >>> run_command(["sleep", "5"], 0.2, log).returncode is None
        True
        >>> run_command(["true"], 5, log).returncode
        0
        >>> log.read_text().splitlines()
        ['$ sleep 5', '$ true']
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("ab") as sink:
        sink.write(f"$ {shlex.join(command)}\n".encode())
        sink.flush()
        process = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=None if env is None else dict(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        returncode: int | None
        try:
            returncode = process.wait(timeout=max(0.0, timeout_s))
        except subprocess.TimeoutExpired:
            returncode = None
            _stop(process)
        except BaseException:
            _stop(process)
            raise
    return Finished(tuple(command), returncode, time.monotonic() - started)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Interrupts the process group of ``process``, then kills what is left of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=GRACE_S)
    # DataLoader workers or DDP ranks may outlive the process that started them.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass(frozen=True)
class Box:
    """A section's time box: when it ends, and where its commands write."""

    deadline: float
    log: Path
    env: Mapping[str, str]

    def run(self, command: Sequence[str]) -> Finished:
        """Runs ``command`` for at most the time left in the box."""
        return run_command(
            command, self.deadline - time.monotonic(), self.log, self.env
        )


def last_line(log: Path) -> str:
    """The last line a command wrote to ``log`` (the error of a traceback).

    Blank lines and the ``$ command`` lines of :func:`run_command` do not count.
    """
    with contextlib.suppress(OSError):
        for line in reversed(log.read_text(errors="replace").splitlines()):
            if line.strip() and not line.startswith("$ "):
                return line.strip()[:300]
    return "no output"


def failure(finished: Finished, log: Path) -> str | None:
    """Why ``finished`` failed, or ``None`` if it did not."""
    if finished.returncode is None:
        return f"cut off by its time box after {finished.seconds:.0f} s"
    if finished.returncode != 0:
        return f"exit status {finished.returncode}: {last_line(log)}"
    return None


def measured_status(runs: Sequence[Finished], log: Path) -> str:
    """``measured``, or ``failed: <reason>`` of the first command that failed."""
    for finished in runs:
        reason = failure(finished, log)
        if reason is not None:
            return f"failed: {reason}"
    return "measured"


def goal(met: bool | None, ctx: Context, **target: float) -> dict[str, Any]:
    """A goal: its target values, whether it is met and in words.

    Goals are for a GPU: without one ``met`` is ``None``; so it is when nothing was
    measured.
    """
    if not ctx.on_gpu:
        return {**target, "met": None, "status": "skipped: no CUDA device"}
    if met is None:
        return {**target, "met": None, "status": "not measured"}
    return {**target, "met": met, "status": "met" if met else "not met"}


def paper_recipe_hours(images_per_second: float) -> float:
    """Hours the paper recipe's samples take at ``images_per_second``.

    Examples:
        >>> round(paper_recipe_hours(7700), 3)
        0.999
    """
    return PAPER_SAMPLES / images_per_second / 3600


def settings(ctx: Context, devices: int = 1, model: bool = True) -> dict[str, Any]:
    """The device, precision, batch, backbone and image sizes of a section.

    ``model=False`` for a section that does not train the profile's model (the
    tests choose their own): only its device is known.
    """
    p = ctx.profile
    used = {
        "device": ctx.device if devices == 1 else f"{devices} x {ctx.device}",
        "precision": p.precision,
        "batch_size": p.batch_size,
        "backbone": p.backbone,
        "input_size": p.input_size,
        "image_size": p.image_size,
    }
    return used if model else {key: None for key in used} | {"device": ctx.device}


def fresh(folder: Path) -> Path:
    """``folder``, emptied of an earlier run's files."""
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def junit_counts(text: str) -> dict[str, int]:
    """Passed, failed, errored and skipped tests of a JUnit XML report.

    Examples:
        >>> junit_counts('<testsuites><testsuite tests="5" failures="1" '
        ...              'errors="0" skipped="3"/></testsuites>')
        {'passed': 1, 'failed': 1, 'errors': 0, 'skipped': 3}
    """
    root = ElementTree.fromstring(text)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))

    def total(key: str) -> int:
        return sum(int(suite.get(key, "0")) for suite in suites)

    failed, errors, skipped = total("failures"), total("errors"), total("skipped")
    return {
        "passed": total("tests") - failed - errors - skipped,
        "failed": failed,
        "errors": errors,
        "skipped": skipped,
    }


def cuda_tests_command(ctx: Context) -> list[str]:
    """``pytest -m cuda``; a test module that fails to import counts as an error."""
    return [
        sys.executable,
        *("-m", "pytest", "-m", "cuda", "-q", "-rs"),
        "--continue-on-collection-errors",
        *("--junitxml", str(ctx.output / "cuda_tests.xml")),
    ]


def cuda_tests_status(finished: Finished, counts: Mapping[str, int], log: Path) -> str:
    """``passed``, ``skipped: no CUDA device`` or ``failed: <reason>``."""
    tally = ", ".join(f"{number} {kind}" for kind, number in counts.items())
    if finished.returncode is None:
        return f"failed: {failure(finished, log)}" + (f" ({tally})" if tally else "")
    if finished.returncode != 0:
        if tally:
            return f"failed: {tally} (exit status {finished.returncode})"
        return f"failed: {failure(finished, log)}"
    if counts.get("passed", 0) > 0:
        return "passed"
    if counts.get("skipped", 0) > 0 and not torch.cuda.is_available():
        return "skipped: no CUDA device"
    return f"failed: no test marked cuda ran ({tally or 'no report'})"


def cuda_tests(ctx: Context, box: Box, done: Mapping[str, Section]) -> Section:
    """The CUDA tests, counted from pytest's JUnit XML report."""
    report = ctx.output / "cuda_tests.xml"
    report.unlink(missing_ok=True)
    finished = box.run(cuda_tests_command(ctx))
    counts = junit_counts(report.read_text()) if report.is_file() else {}
    return Section(
        status=cuda_tests_status(finished, counts, box.log),
        figures=dict(counts),
        commands=[shlex.join(finished.command)],
        settings=settings(ctx, model=False),
    )


_PRINTED = re.compile(
    r"^\s*(?P<method>\S+)\s+(?P<mode>\S+): +(?P<ips>[\d.]+) images/s, "
    r"step +(?P<ms>[\d.]+) ms, peak +(?P<mib>[\d.]+) MiB\s*$",
    re.MULTILINE,
)


def printed_measurements(text: str) -> list[dict[str, Any]]:
    """The measurements ``benchmarks/throughput.py`` printed as it went.

    They are what a run cut off before writing ``throughput.json`` leaves.

    Examples:
        >>> printed_measurements(
        ...     "  byel    device:   245.6 images/s, step   32.6 ms, peak   880 MiB"
        ... )  # doctest: +NORMALIZE_WHITESPACE
        [{'method': 'byel', 'mode': 'device', 'images_per_second': 245.6,
          'median_step_ms': 32.6, 'peak_memory_mib': 880.0}]
    """
    return [
        {
            "method": match["method"],
            "mode": match["mode"],
            "images_per_second": float(match["ips"]),
            "median_step_ms": float(match["ms"]),
            "peak_memory_mib": float(match["mib"]),
        }
        for match in _PRINTED.finditer(text)
    ]


def throughput_figures(folder: Path, log: Path) -> dict[str, Any]:
    """What a ``throughput.py`` run measured: from its JSON, else from its log."""
    path = folder / "throughput.json"
    if not path.is_file():
        text = log.read_text(errors="replace") if log.is_file() else ""
        return {"results": printed_measurements(text), "source": "printed lines"}
    payload = json.loads(path.read_text(encoding="utf-8"))
    keep = (
        "method",
        "mode",
        "images_per_second",
        "median_step_ms",
        "peak_memory_mib",
        "peak_memory_kind",
    )
    return {
        "results": [{key: r[key] for key in keep} for r in payload["results"]],
        "byel_byol_ratio": payload["byel_byol_ratio"],
        "data": payload["data"],
        "source": "throughput.json",
    }


def timing_flags(profile: Profile) -> list[str]:
    """The ``throughput.py`` flags of the profile's model, device and step counts."""
    return [
        *("--backbone", profile.backbone, "--input-size", str(profile.input_size)),
        *("--batch-size", str(profile.batch_size), "--precision", profile.precision),
        *("--warmup", str(profile.warmup), "--steps", str(profile.steps)),
        *("--device", profile.device),
    ]


def throughput_command(ctx: Context) -> list[str]:
    """Every method in the device, device-augment and cache modes."""
    p = ctx.profile
    return [
        *(sys.executable, "benchmarks/throughput.py"),
        *("--methods", "byel,byol,simclr,supervised"),
        *("--modes", "device,device-augment,cache"),
        *timing_flags(p),
        *("--num-workers", str(p.num_workers)),
        *("--images-per-class", str(p.throughput_images_per_class)),
        *("--image-size", str(p.image_size)),
        *("--cache-dir", str(ctx.scratch / "throughput")),
        *("--output", str(ctx.output / "throughput")),
    ]


def throughput(ctx: Context, box: Box, done: Mapping[str, Section]) -> Section:
    """Images/s, step time and peak memory of every method in every mode.

    The figures add the paper recipe's hours at BYEL's ``cache`` rate, the
    steady-state counterpart of ``paper_short``'s estimate.
    """
    folder = fresh(ctx.output / "throughput")
    finished = box.run(throughput_command(ctx))
    figures = throughput_figures(folder, box.log)
    rates = [
        r["images_per_second"]
        for r in figures["results"]
        if (r["method"], r["mode"]) == ("byel", "cache")
    ]
    if rates:
        figures["byel_cache_paper_recipe_hours"] = paper_recipe_hours(rates[0])
    return Section(
        status=measured_status([finished], box.log),
        figures=figures,
        commands=[shlex.join(finished.command)],
        settings=settings(ctx),
    )


def ratio_command(ctx: Context) -> list[str]:
    """BYEL and BYOL in the device mode, measured alternately ``repeats`` times."""
    return [
        *(sys.executable, "benchmarks/throughput.py"),
        *("--methods", "byel,byol", "--modes", "device"),
        *("--repeats", str(ctx.profile.repeats)),
        *timing_flags(ctx.profile),
        *("--output", str(ctx.output / "byel_byol_ratio")),
    ]


def byel_byol_ratio(ctx: Context, box: Box, done: Mapping[str, Section]) -> Section:
    """BYEL's median step time over BYOL's, against :data:`GOAL_RATIO`.

    A run cut off keeps its step times but gives no ratio: an incomplete
    alternation would favour one of the methods.
    """
    folder = fresh(ctx.output / "byel_byol_ratio")
    finished = box.run(ratio_command(ctx))
    measured = throughput_figures(folder, box.log)
    ratio = measured.get("byel_byol_ratio", {}).get("device")
    steps = {
        f"{method}_step_ms": [
            r["median_step_ms"] for r in measured["results"] if r["method"] == method
        ]
        for method in ("byel", "byol")
    }
    return Section(
        status=measured_status([finished], box.log),
        figures={
            "ratio": ratio,
            "repeats": ctx.profile.repeats,
            **steps,
            "goal": goal(
                None if ratio is None else ratio <= GOAL_RATIO,
                ctx,
                max_ratio=GOAL_RATIO,
            ),
        },
        commands=[shlex.join(finished.command)],
        settings=settings(ctx),
    )


def paper_faces(ctx: Context) -> Path:
    """The generated faces of the paper runs."""
    p = ctx.profile
    return ctx.scratch / f"faces-n{p.paper_images_per_class}-s{p.image_size}"


def generate_command(ctx: Context) -> list[str]:
    """Generated faces in the LSD layout for the paper runs."""
    p = ctx.profile
    return [
        *(sys.executable, "-m", "lightly_byel.data.synthfaces"),
        *("--output", str(paper_faces(ctx))),
        *("--images-per-class", str(p.paper_images_per_class)),
        *("--image-size", str(p.image_size), "--seed", "0", "--quiet"),
        *("--workers", str(p.generate_workers), "--overwrite"),
    ]


def paper_command(ctx: Context, name: str, devices: int) -> list[str]:
    """The paper preset, one epoch of each phase, BYEL, seed 0, on ``devices``."""
    p = ctx.profile
    command = [
        *(sys.executable, "benchmarks/affwild2.py", "--preset", "paper"),
        *("--data-root", str(paper_faces(ctx))),
        *("--epochs", "1", "--linear-epochs", "1", "--finetune-epochs", "1"),
        *("--methods", "byel", "--seeds", "0", "--output", str(ctx.output / name)),
        *("--backbone", p.backbone, "--input-size", str(p.input_size)),
        *("--batch-size-per-device", str(p.batch_size), "--precision", p.precision),
        *("--num-workers", str(p.num_workers)),
        *("--accelerator", "gpu" if ctx.on_gpu else "cpu", "--devices", str(devices)),
    ]
    return command + (["--strategy", "ddp"] if devices > 1 else [])


def paper_figures(folder: Path) -> dict[str, Any]:
    """BYEL's pretraining rate in ``folder/results.json`` and the hours it gives."""
    path = folder / "results.json"
    if not path.is_file():
        return {}
    runs = [
        run
        for run in read_results_json(path)["runs"]
        if run["pretrain_images_per_second"] is not None
    ]
    if not runs:
        return {}
    rate = runs[0]["pretrain_images_per_second"]
    return {
        "pretrain_seconds": runs[0]["pretrain_seconds"],
        "pretrain_images_per_second": rate,
        "paper_recipe_hours": paper_recipe_hours(rate),
    }


def paper_run(ctx: Context, box: Box, name: str, devices: int) -> Section:
    """Generates the faces (unless there) and runs the paper preset briefly."""
    ran: list[Finished] = []
    figures: dict[str, Any] = {}
    if name == "paper_short" or not (paper_faces(ctx) / "dataset.json").is_file():
        ran.append(box.run(generate_command(ctx)))
        figures["generate_seconds"] = ran[-1].seconds
    if not ran or ran[-1].returncode == 0:
        fresh(ctx.output / name)
        ran.append(box.run(paper_command(ctx, name, devices)))
        figures["benchmark_seconds"] = ran[-1].seconds
    figures["images_per_split"] = 6 * ctx.profile.paper_images_per_class
    figures |= paper_figures(ctx.output / name)
    hours = figures.get("paper_recipe_hours")
    figures["goal"] = goal(
        None if hours is None else hours <= GOAL_HOURS,
        ctx,
        max_hours=GOAL_HOURS,
        min_images_per_second=round(PAPER_SAMPLES / 3600 / GOAL_HOURS),
    )
    return Section(
        status=measured_status(ran, box.log),
        figures=figures,
        commands=[shlex.join(finished.command) for finished in ran],
        settings=settings(ctx, devices),
    )


def paper_short(ctx: Context, box: Box, done: Mapping[str, Section]) -> Section:
    """The paper preset end to end on one device for a bounded number of steps."""
    return paper_run(ctx, box, "paper_short", 1)


def ddp(ctx: Context, box: Box, done: Mapping[str, Section]) -> Section:
    """The paper_short run on two GPUs with DDP, and its speed-up over one."""
    section = paper_run(ctx, box, "ddp", 2)
    single = done.get("paper_short")
    one = single.figures.get("pretrain_images_per_second") if single else None
    two = section.figures.get("pretrain_images_per_second")
    if one and two:
        section.figures["speedup_over_one_gpu"] = two / one
    return section


def ddp_skip(ctx: Context) -> str | None:
    """Why the DDP section cannot run here, or ``None``."""
    if not ctx.on_gpu and ctx.gpus:
        return "the run is on the CPU (--device cpu)"
    if ctx.gpus < 2:
        return f"needs 2 or more GPUs, found {ctx.gpus}"
    return None


@dataclass(frozen=True)
class Spec:
    """A section: its name, its weight in the budget, how it runs, when it cannot."""

    name: str
    weight: float
    run: Callable[[Context, Box, Mapping[str, Section]], Section]
    skip: Callable[[Context], str | None] = lambda ctx: None


SECTIONS = (
    Spec("cuda_tests", 1.5, cuda_tests),
    Spec("throughput", 3.0, throughput),
    Spec("byel_byol_ratio", 2.0, byel_byol_ratio),
    Spec("paper_short", 2.5, paper_short),
    Spec("ddp", 2.5, ddp, skip=ddp_skip),
)
"""The sections in run order."""


def run_section(
    ctx: Context, spec: Spec, box_s: float, done: Mapping[str, Section]
) -> Section:
    """Runs one section in a time box of ``box_s`` seconds.

    An error of the section's own code fails that section only.
    """
    log = ctx.output / "logs" / f"{spec.name}.log"
    log.unlink(missing_ok=True)
    started = time.monotonic()
    try:
        section = spec.run(ctx, Box(started + box_s, log, ctx.env), done)
    except Exception as error:
        section = Section(status=f"failed: {type(error).__name__}: {error}")
    section.wall_seconds = time.monotonic() - started
    section.time_box_seconds = box_s
    section.log = str(log.relative_to(ctx.output)) if log.is_file() else None
    return section


def run_sections(ctx: Context, budget_s: float) -> dict[str, Section]:
    """Runs every section, rewriting the reports after each one.

    Each section's time box is its weight's share of the budget left, among the
    sections still to run, so time one leaves unused goes to the next ones.
    """
    started = time.monotonic()
    skips = {spec.name: spec.skip(ctx) for spec in SECTIONS}
    header = {
        "budget_s": budget_s,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "environment": {
            **environment_info(ctx.device),
            "driver_version": driver_version(),
        },
    }
    sections: dict[str, Section] = {}
    for index, spec in enumerate(SECTIONS):
        reason = skips[spec.name]
        if reason is not None:
            section = Section(status=f"skipped: {reason}")
        else:
            weights = sum(s.weight for s in SECTIONS[index:] if skips[s.name] is None)
            left = max(0.0, budget_s - (time.monotonic() - started))
            section = run_section(ctx, spec, left * spec.weight / weights, sections)
        sections[spec.name] = section
        print(f"{spec.name}: {section.status} ({section.wall_seconds:.0f} s)")
        write_reports(
            ctx.output,
            {
                **header,
                "wall_seconds": time.monotonic() - started,
                "sections": {name: asdict(s) for name, s in sections.items()},
                "pending": [s.name for s in SECTIONS[index + 1 :]],
            },
        )
    return sections


def driver_version() -> str | None:
    """The NVIDIA driver version that ``nvidia-smi`` reports, or ``None``."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        listed = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    versions = sorted({line.strip() for line in listed.splitlines() if line.strip()})
    return ", ".join(versions) or None


def write_reports(output: Path, payload: Mapping[str, Any]) -> None:
    """Writes ``acceptance.json`` and ``acceptance.md``, each atomically."""
    text = json.dumps(payload, indent=2) + "\n"
    write_text_atomic(output / "acceptance.json", text)
    write_text_atomic(output / "acceptance.md", markdown(payload))


def _text(value: Any) -> str:
    """A figure in words: numbers to four significant digits, ``n/a`` for none.

    Examples:
        >>> _text(1.0301), _text(12345.6), _text(None), _text({"met": True})
        ('1.03', '12,346', 'n/a', 'met True')
    """
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{key} {_text(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(map(_text, value))
    return str(value)


def _figure_lines(figures: Mapping[str, Any]) -> list[str]:
    """Scalar figures as a list, lists of records (measurements) as tables."""
    lines: list[str] = []
    tables: list[str] = []
    for key, value in figures.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            header = list(value[0])
            numeric = [isinstance(value[0][name], int | float) for name in header]
            tables += ["", "| " + " | ".join(header) + " |"]
            tables.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
            tables += [
                "| " + " | ".join(_text(row.get(name)) for name in header) + " |"
                for row in value
            ]
        else:
            lines.append(f"- {key}: {_text(value)}")
    return (["", *lines] if lines else []) + tables


def markdown(payload: Mapping[str, Any]) -> str:
    """The report as Markdown: a summary table, then each section's details."""
    env = payload["environment"]
    lines = [
        "# GPU acceptance",
        "",
        f"Started {payload['started']}, budget {payload['budget_s']} s, "
        f"{payload['wall_seconds']:.0f} s so far. GPUs: "
        f"{', '.join(env['gpus']) or 'none'}; driver {_text(env['driver_version'])}; "
        f"torch {env['torch']}, CUDA {_text(env['cuda'])}; CPU {env['cpu']}, "
        f"{env['cpu_count']} cores.",
        "",
        "| section | status | wall s | time box s |",
        "|:---|:---|---:|---:|",
    ]
    for name, s in payload["sections"].items():
        lines.append(
            f"| {name} | {s['status']} | {s['wall_seconds']:.0f} | "
            f"{s['time_box_seconds']:.0f} |"
        )
    lines += [f"| {name} | pending | | |" for name in payload["pending"]]
    for name, s in payload["sections"].items():
        used = ", ".join(f"{k} {v}" for k, v in s["settings"].items() if v is not None)
        lines += ["", f"## {name}", "", f"Status: {s['status']}."]
        if used:
            lines[-1] += f" Settings: {used}."
        if s["log"]:
            lines[-1] += f" Log: `{s['log']}`."
        if s["commands"]:
            lines += ["", "```bash", *s["commands"], "```"]
        lines += _figure_lines(s["figures"])
    return "\n".join(lines) + "\n"


def child_environment(scratch: Path, on_cpu: bool) -> dict[str, str]:
    """The environment of the sections' commands."""
    env = dict(os.environ)
    # This checkout's lightly_byel first, then whatever PYTHONPATH named already.
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, (str(ROOT), env.get("PYTHONPATH")))
    )
    # A section cut off by its time box still leaves what it printed in its log.
    env["PYTHONUNBUFFERED"] = "1"
    # Generated data and uint8 caches stay in the scratch folder.
    env["LIGHTLY_BYEL_CACHE"] = str(scratch / "cache")
    if on_cpu:
        # On a small CPU shared with other processes, torch's spinning worker
        # threads made the miniature's steps up to a hundred times slower.
        env.setdefault("OMP_NUM_THREADS", "1")
    return env


@dataclass(frozen=True)
class AcceptanceFlags:
    """The command line."""

    output: Path = setting(help="results folder", flag="output")
    budget_s: int = setting(
        REFERENCE_BUDGET_S,
        "seconds for all sections; steps, repeats and images scale with it "
        "(within 8 minutes on one H100 or H200 at the default)",
        flag="budget_s",
        minimum=30,
    )
    scratch: Path | None = setting(
        None,
        "folder for generated faces and caches (null: <output>/scratch)",
        flag="scratch",
    )
    device: Literal["auto", "cuda", "cpu"] = setting(
        "auto", "where to run: cuda where there is a CUDA device", flag="device"
    )


def parse_args(argv: Sequence[str] | None) -> AcceptanceFlags:
    """The command line."""
    return parse_script_flags(AcceptanceFlags, __file__, __doc__, argv)


def make_context(args: AcceptanceFlags) -> Context:
    """The context of the command line's run.

    Raises:
        SystemExit: If ``--device cuda`` is asked for without a CUDA device.
    """
    try:
        device = resolve_device(args.device)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    base = gpu_profile() if device == "cuda" else CPU_PROFILE
    output = args.output.resolve()
    scratch = (args.scratch or output / "scratch").resolve()
    return Context(
        output=output,
        scratch=scratch,
        profile=scaled(base, args.budget_s / REFERENCE_BUDGET_S),
        device=torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        gpus=torch.cuda.device_count(),
        env=child_environment(scratch, on_cpu=device == "cpu"),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs every section; returns 1 if one failed, else 0."""
    args = parse_args(argv)
    print(OFFLINE_NOTE + "\n", flush=True)
    ctx = make_context(args)
    print(
        f"Budget {args.budget_s} s on {ctx.device}; sections "
        f"{', '.join(spec.name for spec in SECTIONS)}; results in {ctx.output}",
        flush=True,
    )
    sections = run_sections(ctx, args.budget_s)
    failed = [name for name, s in sections.items() if s.status.startswith("failed")]
    print(
        f"Wrote {ctx.output / 'acceptance.json'} and acceptance.md"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

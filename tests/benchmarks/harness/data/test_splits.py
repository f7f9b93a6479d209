import os
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from harness.config.presets import preset
from harness.config.settings import BenchmarkConfig, DataSettings
from harness.data.splits import (
    cache_root,
    generated_identities,
    grouped_split,
    load_splits,
    stratified_split,
    synthetic_data,
)
from harness.pipelines.cache.pipeline import DevicePreprocess, build_caches, cache_size
from harness.pipelines.cache.uint8_cache import CachedSubset
from harness.pipelines.loading import Transformed, loader
from PIL import Image

from lightly_byel.data import LSD_CLASSES, LSDImageFolder
from lightly_byel.data.synthfaces import METADATA_FILE, SPLITS, generate
from lightly_byel.transforms.eval_transform import EvalTransform

TINY = DataSettings(synthetic_images_per_class=3, synthetic_image_size=24)


def test_stratified_split_is_per_class_and_seeded() -> None:
    labels = [0] * 20 + [1] * 10 + [2] * 5
    kept, held = stratified_split(labels, 0.2, seed=3)
    assert sorted(kept + held) == list(range(35))
    assert [sum(labels[i] == c for i in held) for c in range(3)] == [4, 2, 1]
    assert stratified_split(labels, 0.2, seed=3) == (kept, held)
    assert stratified_split(labels, 0.2, seed=4)[1] != held
    assert stratified_split(labels, 0.0, seed=0) == (list(range(35)), [])


def test_grouped_split_holds_out_whole_groups_near_the_fraction() -> None:
    groups = [g for g in range(20) for _ in range(5 + g % 3)]
    kept, held = grouped_split(groups, 0.1, seed=0)
    assert sorted(kept + held) == list(range(len(groups)))
    assert not {groups[i] for i in kept} & {groups[i] for i in held}
    assert abs(len(held) - 0.1 * len(groups)) <= 4
    assert grouped_split(groups, 0.1, seed=0) == (kept, held)
    assert grouped_split(groups, 0.1, seed=1)[1] != held
    assert grouped_split(groups, 0.0, seed=0) == (list(range(len(groups))), [])


def test_generated_data_is_held_out_by_person(tmp_path: Path) -> None:
    generate(tmp_path / "faces", images_per_class=10, image_size=16, identities=10)
    config = replace(
        preset("smoke"), data=DataSettings(data_root=str(tmp_path / "faces"))
    )
    config = replace(
        config, evaluation=replace(config.evaluation, holdout_fraction=0.2)
    )
    splits = load_splits(config, seed=0)
    people = generated_identities(splits.train)
    assert people is not None and len(set(people)) == 10
    held = {people[i] for i in splits.holdout_indices}
    assert held and not held & {people[i] for i in splits.train_indices}
    assert splits.description["holdout"] == "people held out by identity (metadata.csv)"
    # Without the generator's metadata (real data) the holdout is random images.
    (tmp_path / "faces" / METADATA_FILE).unlink()
    assert generated_identities(LSDImageFolder(tmp_path / "faces" / SPLITS[0])) is None
    splits = load_splits(config, seed=0)
    assert splits.description["holdout"] == "class-stratified random images"
    assert len(splits.holdout_indices) == 12


def test_a_class_the_holdout_takes_whole_is_refused(tmp_path: Path) -> None:
    generate(tmp_path / "faces", images_per_class=4, image_size=16)
    (tmp_path / "faces" / METADATA_FILE).unlink()
    fear = tmp_path / "faces" / SPLITS[0] / "FEAR"
    for extra in sorted(fear.iterdir())[1:]:
        extra.unlink()  # one image left, which a 60% holdout takes
    config = replace(
        preset("smoke"), data=DataSettings(data_root=str(tmp_path / "faces"))
    )
    config = replace(
        config, evaluation=replace(config.evaluation, holdout_fraction=0.6)
    )
    with pytest.raises(ValueError, match=r"without the holdout .* FEAR \(all held"):
        load_splits(config)


def test_synthetic_data_is_generated_once_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(TINY, cache_dir=str(tmp_path))
    root = synthetic_data(settings)
    assert root.parent == tmp_path
    assert (root / "dataset.json").is_file()
    stamp = (root / "dataset.json").stat().st_mtime_ns
    assert synthetic_data(settings) == root
    assert (root / "dataset.json").stat().st_mtime_ns == stamp
    # No staging folder left, only the lock file.
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [root.name]

    monkeypatch.setenv("LIGHTLY_BYEL_CACHE", str(tmp_path / "env"))
    assert cache_root(TINY) == tmp_path / "env"


def test_staging_left_by_a_killed_generation_is_removed_after_a_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / ".synthfaces-v0-n3-s24-seed0.abcd"
    fresh = tmp_path / ".synthfaces-v0-n3-s24-seed0.efgh"
    for folder in (old, fresh):
        (folder / "training_set_synthetic_images").mkdir(parents=True)
    day_and_more = time.time() - 90_000
    for path in (old / "training_set_synthetic_images", old):
        os.utime(path, (day_and_more, day_and_more))
    synthetic_data(replace(TINY, cache_dir=str(tmp_path)))
    assert not old.exists() and fresh.exists()  # a running build may own it
    assert f"Removed {old}, left by an interrupted generation." in (
        capsys.readouterr().out
    )


def test_load_splits_from_the_embedded_data(tmp_path: Path) -> None:
    config = replace(preset("smoke"), data=replace(TINY, cache_dir=str(tmp_path)))
    splits = load_splits(config, seed=0)
    assert len(splits.train_indices) + len(splits.holdout_indices) == 18
    assert len(splits.holdout_indices) == 0  # 10% of 3 per class rounds to 0
    assert len(splits.eval) == 18
    assert splits.description["source"] == "embedded synthetic faces (not real)"
    data = Transformed(splits.eval, range(6), EvalTransform(16))
    images, labels = next(iter(loader(data, 4, 0, shuffle=False)))
    assert images.shape == (4, 3, 16, 16) and images.dtype == torch.float32
    assert labels.tolist() == [splits.eval.targets[i] for i in range(4)]


def test_load_splits_from_user_folders_and_aff_wild2(tmp_path: Path) -> None:
    train = tmp_path / "train"
    for label, name in enumerate(LSD_CLASSES):
        (train / name.lower()).mkdir(parents=True)
        for number in range(10):
            Image.new("RGB", (8, 8), (label, number, 0)).save(
                train / name.lower() / f"{number}.png"
            )
    frames = tmp_path / "frames" / "cropped_aligned" / "video1"
    frames.mkdir(parents=True)
    for number in range(1, 5):
        Image.new("RGB", (8, 8)).save(frames / f"{number:05d}.jpg")
    annotations = tmp_path / "annotations"
    annotations.mkdir()
    (annotations / "video1.txt").write_text(
        "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n1\n0\n5\n-1\n"
    )
    config = replace(
        BenchmarkConfig(),
        data=DataSettings(
            train_dir=str(train),
            eval_dir=(str(tmp_path / "frames"),),
            eval_format=("affwild2-expr",),
            eval_annotations=(str(annotations),),
        ),
    )
    splits = load_splits(config, seed=1)
    assert len(splits.holdout_indices) == 6
    assert splits.eval.targets == [0, 4]
    assert splits.description["source"] == "user data"


def test_balanced_loader_draws_classes_evenly() -> None:
    class Fake:
        targets = [0] * 90 + [1] * 10

        def __getitem__(self, index: int) -> tuple[int, int]:
            return index, self.targets[index]

    data = Transformed(Fake(), range(100), lambda image: image)  # type: ignore[arg-type]
    drawn = torch.cat(
        [labels for _, labels in loader(data, 50, 0, True, balanced=True)]
    )
    assert 30 < int((drawn == 1).sum()) < 70


def test_caches_feed_the_same_images_as_the_files(tmp_path: Path) -> None:
    config = replace(preset("smoke"), data=replace(TINY, cache_dir=str(tmp_path)))
    splits = load_splits(config, seed=0)
    caches = build_caches(splits, config)
    assert caches.train.size == 24 and caches.eval.size == 24  # the generated size
    assert caches.train.targets == splits.train.targets
    assert caches.eval.targets == splits.eval.targets
    assert build_caches(splits, config).train.root == caches.train.root

    indices = [0, 7, 11]
    files = Transformed(splits.eval, indices, EvalTransform(16))
    cached = CachedSubset(caches.eval, indices)
    from_files, labels = next(iter(loader(files, 3, 0, shuffle=False)))
    uint8, cached_labels = next(iter(loader(cached, 3, 0, shuffle=False)))
    assert uint8.dtype == torch.uint8 and torch.equal(labels, cached_labels)
    on_device = DevicePreprocess(16).eval()(uint8)
    # Both pipelines prepare the images in the same arithmetic.
    torch.testing.assert_close(on_device, from_files, atol=1e-6, rtol=0)

    resized = replace(config, data=replace(config.data, cache_size=20))
    assert build_caches(splits, resized).train.size == 20


def test_cache_size_comes_from_the_settings_not_the_images(tmp_path: Path) -> None:
    # User data: the model's input size, whatever size the first image has.
    user = replace(
        preset("smoke"),
        data=replace(TINY, train_dir=str(tmp_path), eval_dir=(str(tmp_path),)),
    )
    assert cache_size(user) == user.model.input_size == 32
    assert cache_size(preset("smoke")) == 32  # the generated size
    explicit = replace(user, data=replace(user.data, cache_size=40))
    assert cache_size(explicit) == 40


def test_device_preprocess_augments_only_in_training() -> None:
    calls: list[torch.Tensor] = []

    def augment(images: torch.Tensor) -> torch.Tensor:
        calls.append(images)
        return torch.zeros(len(images), 3, 8, 8)

    class Augment(torch.nn.Module):
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return augment(images)

    preprocess = DevicePreprocess(8, Augment())
    images = torch.full((2, 3, 8, 8), 255, dtype=torch.uint8)
    assert torch.equal(preprocess.train()(images), torch.zeros(2, 3, 8, 8))
    plain = preprocess.eval()(images)
    assert len(calls) == 1
    expected = (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor(
        [0.229, 0.224, 0.225]
    )
    torch.testing.assert_close(plain[:, :, 0, 0], expected.expand(2, 3))
    assert DevicePreprocess(4).eval()(images).shape == (2, 3, 4, 4)

"""Fixed sanity checks of the synthetic faces: what any method can hope to find.

Written before any benchmark method ran on generator v2, and never changed to suit
one. Each check holds people out by identity (``metadata.csv``), so a score measures
expressions, not faces seen before:

- (a) a logistic regression on raw pixels finds the expressions of the clean split;
- (b) a small fixed CNN trained on shifted-split people A reads shifted-split
  people B: the shift keeps the expression;
- (c) the same CNN trained on clean-split people A reads the shifted split clearly
  worse than the clean one, yet well above chance: a gap that can be crossed.

Run them alone with ``pytest -m sanity -s tests/data/synthfaces/test_sanity.py``;
``-s`` shows the figures quoted in the README.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.preprocessing import StandardScaler
from torch import nn

from lightly_byel.data.synthfaces.generate import METADATA_FILE, SPLITS, generate

pytestmark = pytest.mark.sanity

IMAGES_PER_CLASS = 150
GENERATED_SIZE = 64
CNN_SIZE = 48
PIXEL_SIZE = 32
CNN_EPOCHS = 20


@dataclass(frozen=True)
class People:
    """The images of one split, cut into two disjoint groups of identities."""

    images_a: np.ndarray
    labels_a: np.ndarray
    images_b: np.ndarray
    labels_b: np.ndarray


def read_people(root: Path, split: str) -> People:
    """64 px RGB images of a split; people with even identity numbers form group A."""
    groups: dict[bool, tuple[list[np.ndarray], list[int]]] = {
        True: ([], []),
        False: ([], []),
    }
    with open(root / METADATA_FILE, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] != split:
                continue
            with Image.open(root / row["file"]) as image:
                pixels = np.asarray(image.convert("RGB"))
            images, labels = groups[int(row["identity"]) % 2 == 0]
            images.append(pixels)
            labels.append(int(row["label"]))
    (images_a, labels_a), (images_b, labels_b) = groups[True], groups[False]
    return People(
        np.stack(images_a), np.array(labels_a), np.stack(images_b), np.array(labels_b)
    )


def resized(images: np.ndarray, size: int) -> np.ndarray:
    return np.stack(
        [
            np.asarray(
                Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR)
            )
            for image in images
        ]
    )


def macro_f1(labels: np.ndarray, predictions: np.ndarray) -> float:
    return float(f1_score(labels, predictions, average="macro"))


def logistic_regression_f1(train: People) -> float:
    """Trained on 32 px grayscale pixels of people A, scored on people B."""

    def features(images: np.ndarray) -> np.ndarray:
        gray = resized(images, PIXEL_SIZE) @ np.array([0.299, 0.587, 0.114])
        return gray.reshape(len(images), -1)

    scaler = StandardScaler().fit(features(train.images_a))
    model = LogisticRegression(C=0.01, max_iter=2000)
    model.fit(scaler.transform(features(train.images_a)), train.labels_a)
    predictions = model.predict(scaler.transform(features(train.images_b)))
    return macro_f1(train.labels_b, predictions)


def small_cnn() -> nn.Sequential:
    """Eight 3x3 convolutions in four stages of 48 px down to 6 px, then linear."""

    def stage(cin: int, cout: int) -> list[nn.Module]:
        return [
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
        ]

    return nn.Sequential(
        *stage(3, 24),
        nn.MaxPool2d(2),
        *stage(24, 48),
        nn.MaxPool2d(2),
        *stage(48, 96),
        nn.MaxPool2d(2),
        *stage(96, 96),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(96, 6),
    )


def as_tensor(images: np.ndarray) -> torch.Tensor:
    batch = torch.from_numpy(resized(images, CNN_SIZE)).permute(0, 3, 1, 2)
    return batch.float().div(255.0).sub(0.5).div(0.25)


def train_cnn(images: np.ndarray, labels: np.ndarray) -> nn.Sequential:
    """A fixed recipe: Adam 2e-3, batch 32, horizontal flips, 20 epochs."""
    torch.manual_seed(0)
    model = small_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    inputs, targets = as_tensor(images), torch.from_numpy(labels)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(CNN_EPOCHS):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(order), 32):
            batch = order[start : start + 32]
            x = inputs[batch]
            flip = torch.rand(len(batch), generator=generator) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            loss = nn.functional.cross_entropy(model(x), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
def cnn_f1(model: nn.Sequential, images: np.ndarray, labels: np.ndarray) -> float:
    predictions = model(as_tensor(images)).argmax(1).numpy()
    return macro_f1(labels, predictions)


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> dict[str, People]:
    root = tmp_path_factory.mktemp("sanity")
    generate(
        root,
        images_per_class=IMAGES_PER_CLASS,
        image_size=GENERATED_SIZE,
        seed=0,
        workers=2,
    )
    return {split: read_people(root, split) for split in SPLITS}


def test_a_pixels_of_the_clean_split_carry_the_expression(
    people: dict[str, People],
) -> None:
    score = logistic_regression_f1(people[SPLITS[0]])
    print(f"\n(a) logistic regression, clean people A -> clean people B: {score:.3f}")
    assert score >= 0.5


def test_b_the_shift_keeps_the_expression(people: dict[str, People]) -> None:
    shifted = people[SPLITS[1]]
    model = train_cnn(shifted.images_a, shifted.labels_a)
    score = cnn_f1(model, shifted.images_b, shifted.labels_b)
    print(f"\n(b) CNN, shifted people A -> shifted people B: {score:.3f}")
    assert score >= 0.6


def test_c_the_gap_is_real_and_can_be_crossed(people: dict[str, People]) -> None:
    clean, shifted = people[SPLITS[0]], people[SPLITS[1]]
    model = train_cnn(clean.images_a, clean.labels_a)
    in_domain = cnn_f1(model, clean.images_b, clean.labels_b)
    across = cnn_f1(model, shifted.images_b, shifted.labels_b)
    print(
        f"\n(c) CNN, clean people A -> clean people B: {in_domain:.3f}, "
        f"-> shifted people B: {across:.3f}"
    )
    assert across >= 0.3
    assert across <= in_domain - 0.15

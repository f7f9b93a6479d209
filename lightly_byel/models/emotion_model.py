"""A trained expression classifier in one self-describing file, and how to apply it.

The benchmark saves every evaluated unit of a run (method, seed, protocol) as
``<output>/models/<method>-seed<k>-<protocol>.pt``: the encoder's and the head's
weights with everything needed to use them, the backbone name, the input size,
the normalisation, the class names and the data it was trained and scored on.
:meth:`EmotionModel.load` rebuilds it offline (the backbone is built from its name
with random weights, then the saved ones are loaded), and its ``predict`` and
``embed`` take PIL images, file paths or image tensors and apply the model's own
preprocessing.

Examples:
    >>> import tempfile
    >>> from PIL import Image
    >>> from lightly_byel.models.backbones import build_backbone
    >>> encoder, num_ftrs = build_backbone("resnet10-w8")
    >>> info = ModelInfo(backbone="resnet10-w8", num_ftrs=num_ftrs, input_size=32)
    >>> model = EmotionModel(encoder, nn.Linear(num_ftrs, 6), info)
    >>> path = Path(tempfile.mkdtemp()) / "model.pt"
    >>> model.save(path)
    >>> loaded = EmotionModel.load(path)
    >>> images = [Image.new("RGB", (64, 64)), torch.zeros(3, 40, 40)]
    >>> prediction = loaded.predict(images)
    >>> prediction.classes.shape, prediction.probabilities.shape
    (torch.Size([2]), torch.Size([2, 6]))
    >>> loaded.embed(Image.new("L", (50, 50))).shape
    torch.Size([1, 64])
    >>> loaded.class_names(prediction.classes)[0] in LSD_CLASSES
    True
"""

import dataclasses
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
from lightly.transforms.utils import IMAGENET_NORMALIZE
from PIL import Image
from torch import Tensor, nn
from torchvision.transforms.v2 import functional as F

from lightly_byel.data import LSD_CLASSES
from lightly_byel.data.images import UNREADABLE
from lightly_byel.models.backbones import build_backbone
from lightly_byel.transforms.eval_transform import network_input
from lightly_byel.transforms.image_range import check_image_range
from lightly_byel.utils.atomic_files import write_atomic
from lightly_byel.utils.safe_load import safe_load

FILE_FORMAT = "lightly-byel emotion model"
"""What the ``format`` entry of a model file says."""

FILE_VERSION = 1
"""The layout of the model file; a newer one is refused with a clear message."""

ImageLike = Image.Image | str | Path | Tensor
"""One image: a PIL image, a file path, or a ``(3, H, W)`` / ``(1, H, W)`` tensor
(uint8, or floating point in [0, 1])."""


@dataclass(frozen=True)
class ModelInfo:
    """What a saved model is and what it needs.

    Attributes:
        backbone: The name :func:`~lightly_byel.models.backbones.build_backbone`
            builds the encoder from to load the weights into (``resnet10-w16``,
            ``resnet50``, ``timm:NAME``).
        num_ftrs: Dimension of the encoder's features.
        input_size: Side of the square network input in pixels.
        mean: Normalisation mean of each channel, on the [0, 1] scale.
        std: Normalisation standard deviation of each channel.
        classes: Class names in label order (the six LSD classes).
        method: The pretraining method (``byel``, ``supervised``, ...).
        seed: The unit's seed.
        protocol: The evaluation that trained the head (``linear``, ``finetune``).
        data: The data it was trained and scored on (paths, counts, generator
            version), as the run's ``results.json`` states it.
        pretrained: The checkpoint the encoder started from (the benchmark's
            ``--pretrained``), or ``None`` for random initial weights: a
            ``random-init`` model with one is that checkpoint, not random weights.
    """

    backbone: str
    num_ftrs: int
    input_size: int
    mean: tuple[float, ...] = tuple(IMAGENET_NORMALIZE["mean"])
    std: tuple[float, ...] = tuple(IMAGENET_NORMALIZE["std"])
    classes: tuple[str, ...] = LSD_CLASSES
    method: str = ""
    seed: int = 0
    protocol: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    pretrained: str | None = None

    @classmethod
    def from_dict(cls, values: Any) -> "ModelInfo":
        """Rebuilds a description stored as plain data (``dataclasses.asdict``).

        Examples:
            >>> import json
            >>> info = ModelInfo(backbone="resnet10-w8", num_ftrs=64, input_size=32)
            >>> stored = json.loads(json.dumps(dataclasses.asdict(info)))
            >>> type(stored["classes"]).__name__, ModelInfo.from_dict(stored) == info
            ('list', True)
        """
        # Model files and ONNX metadata come from others: a description that is
        # not one of ours is a ValueError, not a TypeError deep in the loading.
        if not isinstance(values, Mapping):
            raise ValueError(
                f"the model description must be a mapping, got {type(values).__name__}."
            )
        known = {entry.name for entry in dataclasses.fields(cls)}
        required = {"backbone", "num_ftrs", "input_size"}
        unknown, missing = sorted(set(values) - known), sorted(required - set(values))
        if unknown or missing:
            raise ValueError(
                f"the model description has unknown fields {unknown[:5]} or lacks "
                f"{missing}; expected fields from {sorted(known)}."
            )
        try:
            # Stored as lists by JSON (ONNX metadata); the fields are tuples.
            sequences = {
                name: tuple(values[name])
                for name in ("mean", "std", "classes")
                if name in values
            }
        except TypeError:
            raise ValueError(
                "the model description's mean, std and classes must be lists."
            ) from None
        return cls(**{**values, **sequences})


class Prediction(NamedTuple):
    """Predicted class indices ``(B,)`` and class probabilities ``(B, classes)``."""

    classes: Tensor
    probabilities: Tensor


class EmotionModel(nn.Module):
    """An encoder and a linear head on its features, with their preprocessing.

    ``forward`` maps network input ``(B, 3, S, S)`` (already preprocessed) to
    logits; :meth:`preprocess`, :meth:`predict` and :meth:`embed` take images.

    Args:
        encoder: Maps network input to features ``(B, num_ftrs)``.
        head: The classifier on those features.
        info: What the model is (see :class:`ModelInfo`).
    """

    mean: Tensor
    std: Tensor

    def __init__(self, encoder: nn.Module, head: nn.Linear, info: ModelInfo) -> None:
        super().__init__()
        if (head.in_features, head.out_features) != (info.num_ftrs, len(info.classes)):
            raise ValueError(
                f"head maps {head.in_features} features to {head.out_features} "
                f"classes, expected {info.num_ftrs} to {len(info.classes)}."
            )
        self.encoder = encoder
        self.head = head
        self.info = info
        self.register_buffer("mean", torch.tensor(info.mean).view(1, -1, 1, 1), False)
        self.register_buffer("std", torch.tensor(info.std).view(1, -1, 1, 1), False)
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(B, classes)`` of network input ``(B, 3, S, S)``."""
        logits: Tensor = self.head(self.features(x))
        return logits

    def features(self, x: Tensor) -> Tensor:
        """Encoder features ``(B, num_ftrs)`` of network input ``(B, 3, S, S)``."""
        features: Tensor = self.encoder(x)
        return features.flatten(start_dim=1)

    def preprocess(self, images: ImageLike | Sequence[ImageLike]) -> Tensor:
        """Network input ``(B, 3, S, S)`` on the model's device.

        Args:
            images: One image or a sequence of them, or a batch tensor
                ``(B, C, H, W)``; tensors are uint8, or floating point in [0, 1].
                Images of any size are resized to the model's input size.

        Raises:
            ValueError: For a tensor of another shape or dtype, an empty one, one
                with floating-point values outside [0, 1] or NaN (see
                :func:`~lightly_byel.transforms.image_range.check_image_range`), an
                empty sequence, or anything but the images above (a numpy array).
            FileNotFoundError: For a path that does not exist.
            IsADirectoryError: For a path that is a directory.
            OSError: For a file that is not a readable image, named in the message.
        """
        if isinstance(images, Tensor) and images.dim() == 4:
            batch = [_rgb_of_tensor(image) for image in images]
            # One reduction for the whole batch rather than one per image.
            check_image_range(images)
        elif isinstance(images, Image.Image | str | Path | Tensor):
            batch = [_as_rgb(images)]
        elif isinstance(images, Sequence):
            batch = [_as_rgb(image) for image in images]
        else:
            raise ValueError(_not_an_image(images))
        if not batch:
            raise ValueError("no images to preprocess.")
        device = self.mean.device
        size = self.info.input_size
        return torch.cat(
            [
                network_input(image.unsqueeze(0).to(device), size, self.mean, self.std)
                for image in batch
            ]
        )

    @torch.no_grad()
    def predict(self, images: ImageLike | Sequence[ImageLike]) -> Prediction:
        """The predicted classes and their probabilities (see :meth:`preprocess`)."""
        probabilities = self(self.preprocess(images)).softmax(dim=1)
        return Prediction(probabilities.argmax(dim=1), probabilities)

    @torch.no_grad()
    def embed(self, images: ImageLike | Sequence[ImageLike]) -> Tensor:
        """Encoder features ``(B, num_ftrs)`` (see :meth:`preprocess`)."""
        return self.features(self.preprocess(images))

    def class_names(self, classes: Tensor) -> list[str]:
        """The names of class indices."""
        return [self.info.classes[int(index)] for index in classes]

    def save(self, path: str | Path) -> None:
        """Writes the model file atomically (weights on the CPU)."""
        content = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "info": dataclasses.asdict(self.info),
            "encoder": {k: v.cpu() for k, v in self.encoder.state_dict().items()},
            "head": {k: v.cpu() for k, v in self.head.state_dict().items()},
        }
        buffer = io.BytesIO()
        torch.save(content, buffer)
        write_atomic(Path(path), lambda file: file.write(buffer.getvalue()))

    @classmethod
    def load(
        cls, path: str | Path, device: str | torch.device = "cpu"
    ) -> "EmotionModel":
        """Reads a model file written by :meth:`save`, on ``device``.

        The file is read as tensors and plain data only
        (:func:`~lightly_byel.utils.safe_load.safe_load`): a file that holds other
        pickled objects is refused, never run.

        Raises:
            FileNotFoundError: If the file does not exist.
            UntrustedFileError: If it holds pickled Python objects (a
                ``ValueError``).
            ValueError: If it is not a model file of this version, or its weights
                do not fit its backbone.
        """
        file = Path(path)
        content = safe_load(file, "model file")
        if not isinstance(content, dict) or content.get("format") != FILE_FORMAT:
            raise ValueError(
                f"{str(file)!r} is not a {FILE_FORMAT} file (a Lightning checkpoint "
                "is not one; the run writes models/<unit>-<protocol>.pt)."
            )
        if content.get("version") != FILE_VERSION:
            raise ValueError(
                f"{str(file)!r} has model file version {content.get('version')!r}; "
                f"this code reads version {FILE_VERSION}."
            )
        try:
            info = ModelInfo.from_dict(content.get("info"))
            encoder_state, head_state = content["encoder"], content["head"]
        except (ValueError, KeyError) as error:
            raise ValueError(
                f"{str(file)!r} is not a whole model file: {error}"
            ) from None
        encoder, _ = build_backbone(info.backbone)
        head = nn.Linear(info.num_ftrs, len(info.classes))
        try:
            encoder.load_state_dict(encoder_state)
            head.load_state_dict(head_state)
        except (RuntimeError, TypeError, AttributeError) as error:
            raise ValueError(
                f"{str(file)!r}: the weights do not fit backbone "
                f"{info.backbone!r}: {error}"
            ) from None
        return cls(encoder, head, info).to(device)


def _as_rgb(image: object) -> Tensor:
    """A ``(3, H, W)`` uint8 or [0, 1] float tensor of one image.

    Raises:
        ValueError: For a tensor that is not such an image (see
            :func:`_rgb_of_tensor` and
            :func:`~lightly_byel.transforms.image_range.check_image_range`), or
            anything but a PIL image, a path or a tensor.
        FileNotFoundError: For a path that does not exist.
        IsADirectoryError: For a path that is a directory.
        OSError: For a file that is not a readable image, named in the message.
    """
    if isinstance(image, str | Path):
        return _read_rgb(Path(image))
    if isinstance(image, Image.Image):
        return F.pil_to_tensor(image.convert("RGB"))
    if not isinstance(image, Tensor):
        raise ValueError(_not_an_image(image))
    rgb = _rgb_of_tensor(image)
    check_image_range(image)
    return rgb


def _rgb_of_tensor(image: Tensor) -> Tensor:
    """The ``(3, H, W)`` view of a ``(3, H, W)`` or ``(1, H, W)`` image tensor.

    Checks the shape only: the values are checked once per batch by the caller.

    Raises:
        ValueError: For a tensor of another shape.
    """
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(
            f"expected an image tensor of shape (3, H, W) or (1, H, W), got "
            f"{tuple(image.shape)}."
        )
    return image.expand(3, -1, -1) if image.shape[0] == 1 else image


def _read_rgb(path: Path) -> Tensor:
    """The ``(3, H, W)`` uint8 tensor of an image file.

    Raises:
        FileNotFoundError: If the file does not exist.
        IsADirectoryError: If the path is a directory.
        OSError: If the file is not a readable image (damaged, truncated or of
            another format), named in the message.
    """
    if path.is_dir():
        raise IsADirectoryError(
            f"image {str(path)!r} is a directory; pass the image files in it "
            "(e.g. sorted(folder.glob('*.jpg')))."
        )
    if not path.is_file():
        raise FileNotFoundError(f"image {str(path)!r} does not exist.")
    try:
        with Image.open(path) as opened:
            return F.pil_to_tensor(opened.convert("RGB"))
    except UNREADABLE as error:
        # Pillow's errors past the header ("Truncated File Read") name no file.
        raise OSError(
            f"image {str(path)!r} cannot be read as an image: {error}"
        ) from error


def _not_an_image(value: object) -> str:
    """The message for a value that is none of the images preprocess takes."""
    hint = ""
    if hasattr(value, "__array__"):
        hint = " (an (H, W, 3) array is torch.from_numpy(array).permute(2, 0, 1))"
    return (
        "expected a PIL image, a file path or an image tensor, or a sequence of "
        f"them, got {type(value).__name__}{hint}."
    )

"""A trained expression classifier in one self-describing file, and how to apply it.

The benchmark saves every evaluated unit of a run (method, seed, protocol) as
``<output>/models/<method>-seed<k>-<protocol>.pt``: the encoder's and the head's
weights with everything needed to use them, the backbone name, the input size,
the normalisation, the class names and the data it was trained and scored on.
:meth:`EmotionModel.load` rebuilds it offline (the backbone is built from its name
with random weights, then the saved ones are loaded), and its ``predict``,
``predict_emotions`` and ``embed`` take PIL images, file paths, image tensors or
numpy arrays (``(H, W, 3)`` RGB, or BGR as OpenCV reads them with ``bgr=True``)
and apply the model's own preprocessing.

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
    >>> name, scores = loaded.predict_emotions(np.zeros((48, 48, 3), np.uint8))
    >>> name in loaded.info.classes, scores.shape
    (True, (6,))
"""

import dataclasses
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, overload

import numpy as np
import torch
from lightly.transforms.utils import IMAGENET_NORMALIZE
from numpy.typing import NDArray
from torch import Tensor, nn

from lightly_byel.data import LSD_CLASSES
from lightly_byel.models.backbones import build_backbone
from lightly_byel.models.image_inputs import (
    ONE_IMAGE,
    ImageLike,
    as_rgb,
    not_an_image,
    rgb_of_array,
    rgb_of_tensor,
)
from lightly_byel.transforms.eval_transform import network_input
from lightly_byel.transforms.image_range import check_image_range
from lightly_byel.utils.atomic_files import write_atomic
from lightly_byel.utils.safe_load import DamagedFileError, UntrustedFileError, safe_load

FILE_FORMAT = "lightly-byel emotion model"
"""What the ``format`` entry of a model file says."""

FILE_VERSION = 1
"""The layout of the model file; a newer one is refused with a clear message."""

_EXPECTED_FILE = (
    "expected a file written by EmotionModel.save, as a benchmark run writes "
    "models/<method>-seed<k>-<protocol>.pt"
)
"""What :meth:`EmotionModel.load` reads, as its error messages state it."""


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

    def preprocess(
        self, images: ImageLike | Sequence[ImageLike], *, bgr: bool = False
    ) -> Tensor:
        """Network input ``(B, 3, S, S)`` on the model's device.

        Args:
            images: One image (see :data:`ImageLike`) or a sequence of them, or a
                batch tensor ``(B, C, H, W)`` or batch array ``(B, H, W, C)``.
                Tensors and arrays are uint8, or floating point in [0, 1] (a float
                array on the 0-255 scale is refused, not guessed at). Images of any
                size are resized to the model's input size; transparent pixels
                (RGBA files, images and arrays) are composited on black, as the
                datasets and ``lightly-byel predict`` read them.
            bgr: Whether numpy arrays hold their channels in OpenCV's order (BGR,
                BGRA), as ``cv2.imread`` returns them. Files, PIL images and
                tensors are RGB whatever it says.

        Raises:
            ValueError: For a tensor or array of another shape or dtype, an empty
                one, one with floating-point values outside [0, 1] or NaN (see
                :func:`~lightly_byel.transforms.image_range.check_image_range`),
                an empty sequence, or anything but the images above; the message
                names the shape or dtype and what is expected.
            FileNotFoundError: For a path that does not exist.
            IsADirectoryError: For a path that is a directory.
            OSError: For a file that is not a readable image, named in the message.
        """
        if isinstance(images, Tensor) and images.dim() == 4:
            batch = [rgb_of_tensor(image) for image in images]
            # One reduction for the whole batch rather than one per image.
            check_image_range(images)
        elif isinstance(images, np.ndarray) and images.ndim == 4:
            batch = list(rgb_of_array(images, bgr))
        elif isinstance(images, ONE_IMAGE):
            batch = [as_rgb(images, bgr)]
        elif isinstance(images, Sequence):
            batch = [as_rgb(image, bgr) for image in images]
        else:
            raise ValueError(not_an_image(images))
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
    def predict(
        self, images: ImageLike | Sequence[ImageLike], *, bgr: bool = False
    ) -> Prediction:
        """The predicted classes and their probabilities (see :meth:`preprocess`).

        Examples:
            >>> from lightly_byel.models.backbones import build_backbone
            >>> encoder, num_ftrs = build_backbone("resnet10-w8")
            >>> info = ModelInfo("resnet10-w8", num_ftrs, input_size=32)
            >>> model = EmotionModel(encoder, nn.Linear(num_ftrs, 6), info)
            >>> rgb = np.random.default_rng(0).integers(0, 256, (40, 30, 3), np.uint8)
            >>> bgr = rgb[:, :, ::-1]  # as cv2.imread reads the image's file
            >>> torch.equal(model.predict(rgb).probabilities,
            ...             model.predict(bgr, bgr=True).probabilities)
            True
        """
        probabilities = self(self.preprocess(images, bgr=bgr)).softmax(dim=1)
        return Prediction(probabilities.argmax(dim=1), probabilities)

    # A str is also a Sequence[str], but always one face (a path): the first
    # overload applies to it, so the overlap mypy reports cannot happen.
    @overload
    def predict_emotions(  # type: ignore[overload-overlap]
        self, face: ImageLike, logits: bool = False, *, bgr: bool = False
    ) -> tuple[str, NDArray[np.float32]]: ...

    @overload
    def predict_emotions(
        self, face: Sequence[ImageLike], logits: bool = False, *, bgr: bool = False
    ) -> tuple[list[str], NDArray[np.float32]]: ...

    @torch.no_grad()
    def predict_emotions(
        self,
        face: ImageLike | Sequence[ImageLike],
        logits: bool = False,
        *,
        bgr: bool = False,
    ) -> tuple[str, NDArray[np.float32]] | tuple[list[str], NDArray[np.float32]]:
        """The expression of one face and its scores, as HSEmotion users call it.

        One face gives its class name and its scores ``(classes,)``; a list of
        faces gives a list of names and scores ``(faces, classes)``, one row per
        face, as HSEmotion's ``predict_multi_emotions`` does. Names are
        ``info.classes``, in the order of the scores' columns.

        Args:
            face: One image (see :data:`ImageLike`; a numpy array ``(H, W, 3)``
                as HSEmotion takes), or a sequence of them. A batch tensor or
                array is refused: pass ``list(batch)``.
            logits: Whether the scores are the raw logits instead of the
                probabilities (which sum to 1 for each face).
            bgr: Whether numpy arrays are BGR, as ``cv2.imread`` returns them
                (see :meth:`preprocess`).

        Returns:
            The class name and the float32 scores of the face, or of each face.

        Raises:
            ValueError: For a batch tensor or array, or any input that
                :meth:`preprocess` refuses.
            FileNotFoundError: For a path that does not exist.
            OSError: For a file that is not a readable image, named in the message.

        Examples:
            >>> from lightly_byel.models.backbones import build_backbone
            >>> encoder, num_ftrs = build_backbone("resnet10-w8")
            >>> info = ModelInfo("resnet10-w8", num_ftrs, input_size=32)
            >>> model = EmotionModel(encoder, nn.Linear(num_ftrs, 6), info)
            >>> face = np.full((48, 40, 3), 128, dtype=np.uint8)
            >>> emotion, scores = model.predict_emotions(face)
            >>> emotion in model.info.classes, scores.shape
            (True, (6,))
            >>> bool(np.isclose(scores.sum(), 1))  # probabilities unless logits=True
            True
            >>> emotions, scores = model.predict_emotions([face, face], logits=True)
            >>> len(emotions), scores.shape, scores.dtype
            (2, (2, 6), dtype('float32'))
        """
        single = isinstance(face, ONE_IMAGE)
        if isinstance(face, Tensor | np.ndarray) and face.ndim == 4:
            raise ValueError(
                f"predict_emotions takes one face or a list of faces, got a batch of "
                f"shape {tuple(face.shape)}; pass list(batch), or use predict."
            )
        scores = self(self.preprocess(face, bgr=bgr)).float()
        probabilities = scores.softmax(dim=1)
        names = self.class_names(probabilities.argmax(dim=1))
        values: NDArray[np.float32] = (
            (scores if logits else probabilities).cpu().numpy()
        )
        if single:
            return names[0], values[0]
        return names, values

    @torch.no_grad()
    def embed(
        self, images: ImageLike | Sequence[ImageLike], *, bgr: bool = False
    ) -> Tensor:
        """Encoder features ``(B, num_ftrs)`` (see :meth:`preprocess`)."""
        return self.features(self.preprocess(images, bgr=bgr))

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
        pickled objects is refused, never run. Any other file (a Lightning
        checkpoint, a state dict, an ONNX export, a pickle) is refused with a
        message that says so and what is expected.

        Raises:
            FileNotFoundError: If the file does not exist.
            IsADirectoryError: If the path is a folder.
            UntrustedFileError: If it holds pickled Python objects (a
                ``ValueError``).
            DamagedFileError: If it is not a readable PyTorch file (a
                ``ValueError``).
            ValueError: If it is not a model file of this version, or its weights
                do not fit its backbone.

        Examples:
            >>> import tempfile
            >>> path = Path(tempfile.mkdtemp()) / "notes.pt"
            >>> _ = path.write_text("not a model")
            >>> EmotionModel.load(path)
            Traceback (most recent call last):
            ...
            lightly_byel.utils.safe_load.DamagedFileError: '.../notes.pt' is not a
            lightly-byel emotion model file and is not a readable PyTorch file
            (damaged, truncated or of another kind: ...); expected a file
            written by EmotionModel.save, as a benchmark run writes
            models/<method>-seed<k>-<protocol>.pt.
        """
        file = Path(path)
        try:
            content = safe_load(file, "model file")
        except (UntrustedFileError, DamagedFileError) as error:
            # safe_load's reason, with what a model file is instead: never torch's
            # advice to load the file unrestricted.
            raise type(error)(
                f"{str(file)!r} is not a {FILE_FORMAT} file and {error.reason}; "
                f"{_EXPECTED_FILE}{_onnx_hint(file)}.",
                error.reason,
            ) from None
        if not isinstance(content, dict) or content.get("format") != FILE_FORMAT:
            raise ValueError(
                f"{str(file)!r} is not a {FILE_FORMAT} file: it holds "
                f"{_described_content(content)}; {_EXPECTED_FILE}{_onnx_hint(file)}."
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


def _described_content(content: object) -> str:
    """What a PyTorch file that is no model file holds, for the error message."""
    if not isinstance(content, dict):
        name = type(content).__name__
        return f"{'an' if name[0] in 'aeiouAEIOU' else 'a'} {name}"
    if "state_dict" in content:
        # Such files are what build_backbone's pretrained= takes: say so.
        return (
            "a Lightning checkpoint ('state_dict'; build_backbone(name, "
            "pretrained=path) reads its encoder)"
        )
    if content and all(isinstance(value, Tensor) for value in content.values()):
        return (
            f"a state dict of {len(content)} tensors (build_backbone(name, "
            "pretrained=path) reads an encoder's)"
        )
    if "format" in content:
        return f"a file of format {content['format']!r}"
    keys = sorted(str(key) for key in content)
    return f"a dict with the keys {keys[:5]}{' ...' if len(keys) > 5 else ''}"


def _onnx_hint(file: Path) -> str:
    """Where an ONNX export is read instead, for a ``.onnx`` file given to load."""
    if file.suffix.lower() != ".onnx":
        return ""
    return (
        " (an ONNX export is read by lightly_byel.models.onnx_model.OnnxEmotionModel)"
    )

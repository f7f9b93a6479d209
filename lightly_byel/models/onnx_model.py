"""ONNX export of a saved model, and running an exported one with onnxruntime.

:func:`export_onnx` writes the encoder and head of an
:class:`~lightly_byel.models.emotion_model.EmotionModel` as an ONNX graph from network
input ``(batch, 3, S, S)`` (preprocessing excluded) to logits, with a dynamic batch
dimension, through torch's ``torch.export``-based exporter. The model's
description (input size, normalisation, classes, data) travels in the graph's
metadata, so :class:`OnnxEmotionModel` applies the same preprocessing.
onnx, onnxscript and onnxruntime come with the extra ``onnx``
(``pip install ".[onnx]"``, part of ``dev``).
"""

import dataclasses
import importlib
import json
import tempfile
from pathlib import Path
from types import ModuleType

import torch
from torch import Tensor

from lightly_byel.models.emotion_model import EmotionModel, ModelInfo
from lightly_byel.utils.atomic_files import write_atomic

INFO_KEY = "lightly_byel_model_info"
"""The metadata entry of an exported graph that holds its :class:`ModelInfo`."""


def _require(name: str) -> ModuleType:
    """Imports an ONNX package, or says which extra brings it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(
            f"ONNX export and inference need {name}; install the extra: "
            "pip install '.[onnx]' (onnx, onnxscript, onnxruntime)."
        ) from None


def export_onnx(model: EmotionModel, path: str | Path) -> None:
    """Writes ``model`` as an ONNX graph with a dynamic batch, atomically.

    Raises:
        ImportError: Without onnx and onnxscript, naming the extra to install.
    """
    onnx = _require("onnx")
    _require("onnxscript")
    size = model.info.input_size
    example = torch.zeros(2, 3, size, size, device=model.mean.device)
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "model.onnx"
        torch.onnx.export(
            model.eval(),
            (example,),
            str(raw),
            input_names=["input"],
            output_names=["logits"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            dynamo=True,
            verbose=False,
        )
        graph = onnx.load(str(raw))
        onnx.helper.set_model_props(
            graph, {INFO_KEY: json.dumps(dataclasses.asdict(model.info))}
        )
        content = graph.SerializeToString()
    write_atomic(Path(path), lambda file: file.write(content))


class OnnxEmotionModel:
    """An exported model run by onnxruntime on the CPU, used as an EmotionModel.

    Calling it maps network input ``(B, 3, S, S)`` to logits, as
    :class:`~lightly_byel.models.emotion_model.EmotionModel` does, so the same
    preprocessing and prediction code serves both.

    Args:
        path: The ``.onnx`` file written by :func:`export_onnx`.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it was not written by :func:`export_onnx`.
        ImportError: Without onnxruntime, naming the extra to install.
    """

    def __init__(self, path: str | Path) -> None:
        runtime = _require("onnxruntime")
        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f"model file {str(file)!r} does not exist.")
        try:
            self.session = runtime.InferenceSession(
                str(file), providers=["CPUExecutionProvider"]
            )
        except Exception as error:
            raise ValueError(
                f"{str(file)!r} is not a readable ONNX model: {error}"
            ) from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if INFO_KEY not in meta:
            raise ValueError(
                f"{str(file)!r} lacks its model description; export it with "
                "lightly-byel export."
            )
        try:
            self.info = ModelInfo.from_dict(json.loads(meta[INFO_KEY]))
        except ValueError as error:  # JSON's errors are ValueErrors too
            raise ValueError(
                f"{str(file)!r} has an unreadable model description: {error}"
            ) from None
        self.mean = torch.tensor(self.info.mean).view(1, -1, 1, 1)
        self.std = torch.tensor(self.info.std).view(1, -1, 1, 1)
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: Tensor) -> Tensor:
        """Logits ``(B, classes)`` of network input ``(B, 3, S, S)``."""
        array = x.detach().to("cpu", torch.float32).contiguous().numpy()
        (logits,) = self.session.run(None, {self.input_name: array})
        return torch.from_numpy(logits)


def load_model(
    path: str | Path, device: str | torch.device = "cpu"
) -> EmotionModel | OnnxEmotionModel:
    """A model file (``.pt``) or an ONNX export (``.onnx``, run on the CPU)."""
    if Path(path).suffix.lower() == ".onnx":
        return OnnxEmotionModel(path)
    return EmotionModel.load(path, device)

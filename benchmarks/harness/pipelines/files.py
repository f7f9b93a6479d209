"""The ``files`` pipeline: DataLoader workers decode and transform each image file."""

from collections.abc import Sequence

from torch import nn

from harness.config.settings import ModelSettings
from harness.methods import MethodSpec, Transform
from harness.pipelines.base import DataPipeline, Samples
from harness.pipelines.loading import Transformed
from lightly_byel import BYELTransform, BYELViewTransform
from lightly_byel.transforms.eval_transform import EvalTransform


def one_view_transform(model: ModelSettings) -> BYELViewTransform:
    """Returns one view of the shared training augmentation, per sample."""
    return BYELViewTransform(input_size=model.input_size, min_scale=model.min_scale)


def training_transform(spec: MethodSpec, model: ModelSettings) -> Transform:
    """A method's per-sample training transform: its views of one image.

    Raises:
        ValueError: For a method that does not pretrain.

    Examples:
        >>> import torch
        >>> from harness.methods import METHODS
        >>> views = training_transform(METHODS["byel"], ModelSettings())
        >>> len(views(torch.zeros(3, 80, 80)))
        2
    """
    spec.check_pretrains()
    view = one_view_transform(model)
    return view if spec.views == 1 else BYELTransform(view, view)


class FilesPipeline(DataPipeline):
    """Each image decoded and transformed in the DataLoader, sample by sample."""

    def pretraining(self, spec: MethodSpec) -> tuple[Samples, nn.Module | None]:
        splits = self.splits
        transform = training_transform(spec, self.model)
        return Transformed(splits.train, splits.train_indices, transform), None

    def plain(self, split: str, indices: Sequence[int] | None = None) -> Samples:
        dataset = self.splits.split(split)
        chosen = range(len(dataset)) if indices is None else indices
        return Transformed(dataset, chosen, EvalTransform(self.model.input_size))

    def augmented(self, indices: Sequence[int]) -> Samples:
        return Transformed(self.splits.train, indices, one_view_transform(self.model))

    def encoder(self, backbone: nn.Module, augment: bool = False) -> nn.Module:
        return backbone

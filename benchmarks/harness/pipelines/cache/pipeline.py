"""The ``cache`` pipeline: images decoded once into uint8, prepared on the device.

Both splits are decoded once into
:class:`~harness.pipelines.cache.uint8_cache.UInt8ImageCache` folders (reused by
later runs); batches are gathered whole, copied to the device
and resized, normalised and augmented there (:class:`DevicePreprocess`).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from lightly.transforms.utils import IMAGENET_NORMALIZE
from torch import Tensor, nn

from harness.config.settings import BenchmarkConfig, ModelSettings
from harness.data.splits import Splits, cache_root
from harness.methods import MethodSpec
from harness.pipelines.base import DataPipeline, Samples
from harness.pipelines.cache.uint8_cache import CachedSubset, UInt8ImageCache
from lightly_byel import BYELBatchTransform, BYELBatchViewTransform
from lightly_byel.transforms.eval_transform import network_input


def one_view_batch_transform(model: ModelSettings) -> BYELBatchViewTransform:
    """Returns one view of the shared training augmentation, per batch."""
    return BYELBatchViewTransform(
        input_size=model.input_size, min_scale=model.min_scale
    )


def training_augmentation(spec: MethodSpec, model: ModelSettings) -> nn.Module:
    """A method's augmentation of uint8 batches on the device: its views of them.

    Raises:
        ValueError: For a method that does not pretrain.

    Examples:
        >>> from harness.methods import METHODS
        >>> views = training_augmentation(METHODS["byel"], ModelSettings(input_size=16))
        >>> [view.shape for view in views(torch.zeros(2, 3, 20, 20, dtype=torch.uint8))]
        [torch.Size([2, 3, 16, 16]), torch.Size([2, 3, 16, 16])]
    """
    spec.check_pretrains()
    view = one_view_batch_transform(model)
    return view if spec.views == 1 else BYELBatchTransform(view, view)


@dataclass(frozen=True)
class Caches:
    """The splits decoded once into uint8 arrays (the ``cache`` pipeline)."""

    train: UInt8ImageCache
    eval: UInt8ImageCache
    others: dict[str, UInt8ImageCache] = field(default_factory=dict)

    def split(self, name: str) -> UInt8ImageCache:
        """The cache of ``train``, ``eval`` or another evaluation set."""
        if name == "train":
            return self.train
        return self.eval if name == "eval" else self.others[name]


def build_caches(splits: Splits, config: BenchmarkConfig) -> Caches:
    """Decodes both splits into uint8 caches (once; later runs reuse them).

    The caches live in ``<cache folder>/uint8``, at the size
    :func:`cache_size` gives; every image is resized into it.
    """
    size = cache_size(config)
    folder = cache_root(config.data) / "uint8"
    workers = config.data.num_workers
    print(f"Decoding the images into uint8 caches at {size} px in {folder} ...")
    return Caches(
        train=UInt8ImageCache.build(splits.train, folder, size, workers),
        eval=UInt8ImageCache.build(splits.eval, folder, size, workers),
        others={
            name: UInt8ImageCache.build(dataset, folder, size, workers)
            for name, dataset in splits.other_evals.items()
        },
    )


def cache_size(config: BenchmarkConfig) -> int:
    """The side of the cached images: from the settings, never from the data.

    ``data.cache_size`` if set; else the generated image size for the embedded
    synthetic faces (their exact pixels); else the model's input size.

    Examples:
        >>> from dataclasses import replace
        >>> from harness.config.presets import preset
        >>> config = preset("paper")
        >>> cache_size(config), config.model.input_size
        (48, 128)
        >>> cache_size(replace(config, data=replace(config.data, data_root="lsd")))
        128
    """
    data = config.data
    if data.cache_size is not None:
        return data.cache_size
    embedded = data.data_root is None and data.train_dir is None
    return data.synthetic_image_size if embedded else config.model.input_size


class DevicePreprocess(nn.Module):
    """Turns uint8 batches into network input on the device (``cache`` pipeline).

    In training mode with an ``augment`` module it returns augmented views; in
    evaluation mode (or without one) it resizes to ``input_size`` with antialiasing
    and normalises, as :class:`~lightly_byel.transforms.eval_transform.EvalTransform`
    does per image. Put it in front of a backbone
    (``nn.Sequential(preprocess, backbone)``) to evaluate or fine-tune the backbone on
    cached uint8 batches.

    Examples:
        >>> preprocess = DevicePreprocess(16).eval()
        >>> preprocess(torch.zeros(2, 3, 24, 24, dtype=torch.uint8)).shape
        torch.Size([2, 3, 16, 16])
    """

    mean: Tensor
    std: Tensor

    def __init__(self, input_size: int, augment: nn.Module | None = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.augment = augment
        mean = torch.tensor(IMAGENET_NORMALIZE["mean"]).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_NORMALIZE["std"]).view(1, 3, 1, 1)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def forward(self, images: Tensor) -> Tensor:
        """Views ``(B, 3, input_size, input_size)`` of uint8 images ``(B, 3, H, W)``."""
        if self.training and self.augment is not None:
            view: Tensor = self.augment(images)
            return view
        return network_input(images, self.input_size, self.mean, self.std)


class CachePipeline(DataPipeline):
    """Both splits decoded once into uint8 caches, prepared on the device."""

    def __init__(self, splits: Splits, config: BenchmarkConfig) -> None:
        super().__init__(splits, config)
        self.caches = build_caches(splits, config)

    def pretraining(self, spec: MethodSpec) -> tuple[Samples, nn.Module | None]:
        samples = CachedSubset(self.caches.train, self.splits.train_indices)
        return samples, training_augmentation(spec, self.model)

    def plain(self, split: str, indices: Sequence[int] | None = None) -> Samples:
        cache = self.caches.split(split)
        return CachedSubset(cache, range(len(cache)) if indices is None else indices)

    def augmented(self, indices: Sequence[int]) -> Samples:
        return CachedSubset(self.caches.train, indices)

    def encoder(self, backbone: nn.Module, augment: bool = False) -> nn.Module:
        augmentation = one_view_batch_transform(self.model) if augment else None
        preprocess = DevicePreprocess(self.model.input_size, augmentation)
        return nn.Sequential(preprocess, backbone)

    def backbone_of(self, encoder: nn.Module) -> nn.Module:
        if isinstance(encoder, nn.Sequential) and isinstance(
            encoder[0], DevicePreprocess
        ):
            return encoder[1]
        return encoder

"""How images reach the network: decoded per sample, or from a uint8 cache.

A :class:`DataPipeline` gives every part of a run its data: the pretraining batches
of a method and the augmentation they need on the device, the plain and the
augmented batches of the evaluations, and the encoder that turns the pipeline's
batches into features. Two implementations:

- :class:`FilesPipeline` (``pipeline: files``): DataLoader workers decode each
  image file and transform it (PIL, torchvision), one sample at a time.
- :class:`CachePipeline` (``pipeline: cache``): both splits are decoded once into
  uint8 caches; batches are gathered whole and resized, normalised and augmented
  on the training device.

:func:`make_pipeline` picks the one the settings name; the run never needs to know
which it has.
"""

from harness.config.settings import BenchmarkConfig
from harness.data.splits import Splits
from harness.pipelines.base import DataPipeline
from harness.pipelines.cache.pipeline import CachePipeline
from harness.pipelines.files import FilesPipeline

PIPELINES: dict[str, type[DataPipeline]] = {
    "files": FilesPipeline,
    "cache": CachePipeline,
}


def make_pipeline(splits: Splits, config: BenchmarkConfig) -> DataPipeline:
    """The pipeline ``config.data.pipeline`` names, for ``splits``."""
    return PIPELINES[config.data.pipeline](splits, config)

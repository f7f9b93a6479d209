"""What pretraining shows while it runs: an online k-NN score and a collapse signal.

A self-supervised run that collapses (every image mapped to nearly the same
embedding) keeps a falling loss and looks healthy until it is evaluated.
:class:`PretrainMonitor` shows it early: after every epoch it embeds a fixed
sample of the training images (the bank) and the held-out synthetic images with
the backbone, and logs

- ``knn_holdout_macro_f1``: macro F1 of a k-NN classifier on the bank (Lightly's
  ``knn_predict``, cosine similarity with temperature), on the holdout;
- ``embedding_std``: the standard deviation of the l2-normalised holdout
  embeddings over the batch, averaged over dimensions (Lightly's
  ``std_of_l2_normalized``); it falls towards 0 as the embeddings collapse, and
  is about ``1 / sqrt(dim)`` for embeddings spread over the sphere;
- ``embedding_spread``: ``embedding_std * sqrt(dim)``, the same on a scale that
  does not depend on the dimension (about 1 when spread, 0 when collapsed).

They go to the Lightning log (``metrics.csv``, ``training_curves.png``) and the
last values into the run records. Measuring leaves the random number generators
as they were, so a monitored run trains exactly as an unmonitored one.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from lightly.utils.benchmarking import knn_predict
from lightly.utils.debug import std_of_l2_normalized
from torch import nn
from torch.nn import functional as F

from harness.config.settings import BenchmarkConfig
from harness.evaluation.features import extract_features
from harness.pipelines.base import DataPipeline
from harness.pipelines.loading import loader
from lightly_byel.utils.metrics import classification_metrics

COLLAPSE_SPREAD = 0.05
"""``embedding_spread`` below which the embeddings count as collapsed: a twentieth
of the spread of embeddings scattered over the sphere."""


def collapsed(embedding_spread: float | None) -> bool:
    """Whether an ``embedding_spread`` means collapse (``None``: not measured).

    Examples:
        >>> collapsed(0.8), collapsed(0.01), collapsed(None)
        (False, True, False)
    """
    return embedding_spread is not None and embedding_spread < COLLAPSE_SPREAD


class PretrainMonitor(pl.Callback):
    """Logs the online k-NN holdout macro F1 and the embedding spread each epoch.

    Args:
        encoder: Wraps the module's backbone so that it sees the loaders' batches
            (the data pipeline's :meth:`~harness.pipelines.base.DataPipeline.encoder`).
        bank: Unaugmented training images with their labels (the k-NN's memory).
        holdout: Unaugmented held-out images with their labels (scored).
        num_classes: Number of classes.
        unit: The unit's name, for the collapse warning.
        knn_k: Neighbours voting.
        knn_t: Temperature of the votes.

    Attributes:
        last: The last epoch's ``knn_holdout_macro_f1`` and ``embedding_std``
            (empty before the first epoch ends); kept in checkpoints, so a resumed
            fit still has them.
    """

    def __init__(
        self,
        encoder: Callable[[nn.Module], nn.Module],
        bank: Iterable[Sequence[Any]],
        holdout: Iterable[Sequence[Any]],
        num_classes: int,
        unit: str,
        knn_k: int = 20,
        knn_t: float = 0.1,
    ) -> None:
        self.encoder = encoder
        self.bank = bank
        self.holdout = holdout
        self.num_classes = num_classes
        self.unit = unit
        self.knn_k = knn_k
        self.knn_t = knn_t
        self.last: dict[str, float] = {}

    def on_train_epoch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> None:
        backbone = pl_module.backbone
        assert isinstance(backbone, nn.Module)  # every PretrainMethod has one
        device = pl_module.device
        # Loaders draw a seed from the global generator: fork it, so that training
        # goes on with the state it would have had without the monitor.
        on_gpu = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=on_gpu), torch.no_grad():
            scores = self.measure(self.encoder(backbone).to(device), device)
        self.last = scores
        # Every process measures the same images, so the values agree.
        pl_module.log_dict(scores, on_step=False, on_epoch=True, sync_dist=False)
        if collapsed(scores["embedding_spread"]) and trainer.is_global_zero:
            print(
                f"\n{self.unit}: the embeddings are collapsing (embedding_spread "
                f"{scores['embedding_spread']:.4f}; about 1 when spread, 0 when "
                "collapsed)",
                flush=True,
            )

    def measure(self, encoder: nn.Module, device: torch.device) -> dict[str, float]:
        """The k-NN holdout macro F1 and the embedding spread of ``encoder``."""
        bank, bank_labels = extract_features(encoder, self.bank, device)
        held, held_labels = extract_features(encoder, self.holdout, device)
        predicted = knn_predict(
            F.normalize(held, dim=1),
            F.normalize(bank, dim=1).T,
            bank_labels,
            self.num_classes,
            knn_k=min(self.knn_k, len(bank)),
            knn_t=self.knn_t,
        )[:, 0]
        names = [str(c) for c in range(self.num_classes)]
        f1 = classification_metrics(held_labels, predicted, names)["macro_f1"]
        std = float(std_of_l2_normalized(held))
        return {
            "knn_holdout_macro_f1": float(f1),
            "embedding_std": std,
            "embedding_spread": std * math.sqrt(held.shape[1]),
        }

    def state_dict(self) -> dict[str, Any]:
        return {"last": dict(self.last)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.last = dict(state_dict["last"])


def pretrain_monitor(
    pipeline: DataPipeline, config: BenchmarkConfig, seed: int, unit: str
) -> PretrainMonitor | None:
    """The monitor of one unit's pretraining, if the run has one.

    ``None`` without a holdout split, or with ``monitor_images`` 0. The bank is a
    fixed random sample (from ``seed``) of at most ``monitor_images`` training
    images, the scored images the first as many of the holdout split; neither is
    augmented.
    """
    limit = config.pretrain.monitor_images
    splits = pipeline.splits
    if limit == 0 or not splits.holdout_indices:
        return None
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(splits.train_indices), generator=generator)
    bank = [splits.train_indices[i] for i in order[:limit].tolist()]
    batch = config.evaluation.batch_size_per_device
    workers = config.data.num_workers
    return PretrainMonitor(
        pipeline.encoder,
        loader(pipeline.plain("train", bank), batch, workers, shuffle=False),
        loader(
            pipeline.plain("train", splits.holdout_indices[:limit]),
            batch,
            workers,
            shuffle=False,
        ),
        config.model.num_classes,
        unit,
    )

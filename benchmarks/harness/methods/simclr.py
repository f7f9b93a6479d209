"""SimCLR: contrast the two views of each image against the rest of the batch."""

from collections.abc import Sequence

import torch
from lightly.loss import NTXentLoss
from lightly.models.modules.heads import SimCLRProjectionHead
from torch import Tensor

from harness.methods.base import PretrainMethod


class SimCLR(PretrainMethod):
    """SimCLR [0] on two views, without labels.

    - [0]: SimCLR, 2020, https://arxiv.org/abs/2002.05709
    """

    def build_heads(self) -> None:
        """Adds the projection head and the NT-Xent loss."""
        settings = self.model_settings
        self.projection_head = SimCLRProjectionHead(
            self.num_ftrs, settings.hidden_dim, settings.out_dim
        )
        self.criterion = NTXentLoss(
            temperature=self.pretrain_settings.temperature, gather_distributed=True
        )

    def training_step(
        self, batch: tuple[Sequence[Tensor], Tensor], batch_idx: int
    ) -> Tensor:
        """Computes the NT-Xent loss of two views; the labels are unused.

        Args:
            batch: The two views ``[x_1, x_2]``, each ``(batch, 3, H, W)``, and the
                labels ``(batch,)``.
            batch_idx: Index of the batch in the epoch.

        Returns:
            The scalar loss.
        """
        views, labels = batch[0], batch[1]
        # One pass over both views: batch norm sees the views together, as in SimCLR.
        projections = self.projection_head(self(torch.cat(list(views))))
        z1, z2 = projections.chunk(len(views))
        loss: Tensor = self.criterion(z1, z2)
        self.log_losses({"train_loss": loss}, batch_size=len(labels))
        return loss

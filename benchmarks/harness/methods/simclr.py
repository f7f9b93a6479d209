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
            self.num_ftrs, settings.hidden_dim, settings.output_dim
        )
        self.criterion = NTXentLoss(
            temperature=self.pretrain_settings.temperature, gather_distributed=True
        )

    def losses(self, inputs: Sequence[Tensor], labels: Tensor) -> dict[str, Tensor]:
        """The NT-Xent loss of the two views; the labels are unused."""
        # One pass over both views: batch norm sees the views together, as in SimCLR.
        projections = self.projection_head(self(torch.cat(list(inputs))))
        z1, z2 = projections.chunk(len(inputs))
        return {"train_loss": self.criterion(z1, z2)}

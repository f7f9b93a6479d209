"""BYOL: bootstrap the online network's predictions onto a momentum target."""

from collections.abc import Sequence

from lightly.loss import NegativeCosineSimilarity
from lightly.models.modules.heads import BYOLPredictionHead
from torch import Tensor

from harness.methods.base import MomentumMethod


class BYOL(MomentumMethod):
    """BYOL [0] on two views, without labels.

    - [0]: BYOL, 2020, https://arxiv.org/abs/2006.07733
    """

    def build_heads(self) -> None:
        """Adds the projection and prediction heads, momentum copies and the loss."""
        super().build_heads()
        settings = self.model_settings
        self.prediction_head = BYOLPredictionHead(
            settings.out_dim, settings.hidden_dim, settings.out_dim
        )
        self.criterion = NegativeCosineSimilarity()

    def training_step(
        self, batch: tuple[Sequence[Tensor], Tensor], batch_idx: int
    ) -> Tensor:
        """Computes the symmetric BYOL loss of two views; the labels are unused.

        Args:
            batch: The two views ``[x_1, x_2]``, each ``(batch, 3, H, W)``, and the
                labels ``(batch,)``.
            batch_idx: Index of the batch in the epoch.

        Returns:
            The scalar loss.
        """
        views, labels = batch[0], batch[1]
        p1, p2 = (self.forward_online(view) for view in views)
        t1, t2 = (self.forward_momentum(view) for view in views)
        # Lightly's convention: 2 * (-cos) is BYOL's 2 - 2 cos less a constant, so the
        # loss lies in [-4, 4] and has the same gradients.
        loss: Tensor = 2 * (self.criterion(p1, t2) + self.criterion(p2, t1))
        self.log_losses({"train_loss": loss}, batch_size=len(labels))
        return loss

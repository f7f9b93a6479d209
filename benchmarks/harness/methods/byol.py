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
            settings.output_dim, settings.hidden_dim, settings.output_dim
        )
        self.criterion = NegativeCosineSimilarity()

    def losses(self, inputs: Sequence[Tensor], labels: Tensor) -> dict[str, Tensor]:
        """The symmetric BYOL loss of the two views; the labels are unused."""
        p1, p2 = (self.forward_online(view) for view in inputs)
        t1, t2 = (self.forward_momentum(view) for view in inputs)
        # Lightly's convention: 2 * (-cos) is BYOL's 2 - 2 cos less a constant, so the
        # loss lies in [-4, 4] and has the same gradients.
        return {"train_loss": 2 * (self.criterion(p1, t2) + self.criterion(p2, t1))}

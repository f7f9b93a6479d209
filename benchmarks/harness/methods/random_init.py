"""The no-pretraining control: the shared encoder as initialised, never trained."""

from typing import Any

from torch import Tensor

from harness.methods.base import PretrainMethod


class RandomInit(PretrainMethod):
    """The backbone with its random initial weights (or ``pretrained`` ones).

    Evaluated by the same protocols as the pretrained encoders, it is the row every
    other row is read against: a method that does not beat it has learned nothing
    the evaluation could not learn on its own. Its weights depend on the seed, like
    every method's initialisation.

    Examples:
        >>> from harness.config.settings import ModelSettings, PretrainSettings
        >>> control = RandomInit(ModelSettings(), PretrainSettings())
        >>> control.num_ftrs
        512
    """

    def losses(self, inputs: Any, labels: Tensor) -> dict[str, Tensor]:
        """Refuses to train: the control is evaluated as initialised.

        Raises:
            RuntimeError: Always.
        """
        raise RuntimeError(
            "random-init is the no-pretraining control and is never trained; "
            "evaluate its backbone as built."
        )

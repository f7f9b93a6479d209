"""The evaluation protocols and their registry.

A protocol evaluates one pretrained encoder: it gets an
:class:`~harness.evaluation.context.EvalContext` and the outcomes of the protocols
run before it for the same encoder, and returns an
:class:`~harness.evaluation.outcome.EvalOutcome`. Adding a protocol means one file
with its ``evaluate`` function and one row here; ``--protocols`` accepts the names
of :data:`PROTOCOLS`, and the reports title and order them as listed here.

Examples:
    >>> list(PROTOCOLS), PROTOCOLS["linear"].title
    (['linear', 'finetune'], 'Linear probe (frozen encoder)')
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.evaluation import finetune, linear_probe
from harness.evaluation.context import EvalContext
from harness.evaluation.outcome import EvalOutcome


@dataclass(frozen=True)
class ProtocolSpec:
    """One evaluation protocol.

    Attributes:
        title: The heading of its tables and plots.
        evaluate: Runs it on one encoder, given the outcomes of earlier protocols.
    """

    title: str
    evaluate: Callable[[EvalContext, Mapping[str, EvalOutcome]], EvalOutcome]


PROTOCOLS: dict[str, ProtocolSpec] = {
    "linear": ProtocolSpec("Linear probe (frozen encoder)", linear_probe.evaluate),
    "finetune": ProtocolSpec(
        "Fine-tuning (encoder + Dropout + Linear)", finetune.evaluate
    ),
}

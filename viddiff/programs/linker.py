"""Stage 2b: link each difference to the stages where it is visible."""

from collections.abc import Mapping, Sequence

import dspy

from viddiff.data.records import Difference
from viddiff.programs.repair import repair_links
from viddiff.retrieval.localizer import Stage
from viddiff.signatures import LinkDifferences


class DifferenceLinker(dspy.Module):
    """Map every difference to the indices of the stages that show it."""

    def __init__(self):
        super().__init__()
        self.link = dspy.Predict(LinkDifferences)

    def forward(
        self, action_description: str, stages: Sequence[Stage], differences: Mapping[str, Difference], **config
    ) -> dspy.Prediction:
        raw = self.link(
            action_description=action_description,
            stages=[s.name for s in stages],
            differences={d.name: d.description for d in differences.values()},
            config=config,
        )
        return dspy.Prediction(links=repair_links(raw.links, stages, differences))

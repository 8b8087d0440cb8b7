"""Utility metrics of a transformation (how much information the release keeps).

- **loss**: Iyengar's loss metric as ARX computes it ("Loss", arithmetic mean): a cell
  generalised to a label covering ``m`` of the hierarchy's ``n`` values loses
  ``(m - 1) / (n - 1)``; a suppressed cell loses 1; 0 = data unchanged, 1 = everything
  suppressed. Given overall and per attribute.
- **discernibility** (Bayardo and Agrawal's DM*, as ARX): the sum over released classes of
  the squared class size, plus ``records`` for each suppressed record.
- **granularity**: the generalisation height used, ``level / (height - 1)``, averaged over all
  cells (Sweeney's precision loss, ARX's "generalisation intensity"); suppressed cells count 1.
- **records suppressed**, **classes** and **average class size** of the release.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from datalux.privacy.anonymisation.encoding import EncodedData
from datalux.privacy.anonymisation.evaluation import NodeDetails

__all__ = ["UtilityMetrics", "utility_metrics"]


@dataclass(frozen=True)
class UtilityMetrics:
    loss: float
    loss_per_attribute: dict[str, float]
    discernibility: float
    granularity: float
    granularity_per_attribute: dict[str, float]
    records: int
    records_suppressed: int
    classes: int
    average_class_size: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def utility_metrics(data: EncodedData, details: NodeDetails) -> UtilityMetrics:
    n = data.records
    suppressed = int(data.tuple_weights[details.tuple_suppressed].sum())
    names = [a.name for a in data.attributes]
    kept = details.kept_class_sizes
    granularity = {
        a.name: ((n - suppressed) * (lv / max(a.height - 1, 1)) + suppressed) / n
        for a, lv in zip(data.attributes, details.result.node, strict=True)
    }
    return UtilityMetrics(
        loss=float(np.mean(details.attribute_loss)),
        loss_per_attribute=dict(zip(names, details.attribute_loss, strict=True)),
        discernibility=float(np.square(kept).sum()) + float(suppressed) * n,
        granularity=float(np.mean(list(granularity.values()))),
        granularity_per_attribute=granularity,
        records=n,
        records_suppressed=suppressed,
        classes=len(kept),
        average_class_size=float(kept.sum() / len(kept)) if len(kept) else 0.0,
    )

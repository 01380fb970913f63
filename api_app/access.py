"""Who may use which data (DESIGN section 6.5), decided from the local index only.

- A timeseries' owner may always use it; a free dataset (``price == "0"``) needs no grant.
- Otherwise a requestor needs a GRANTED permission from that timeseries' owner, either for the
  timeseries or for the whole dataset (``timeseriesID`` None, authorizer = the owner), that is
  not exhausted: its ``maxExecutionCount`` (None: no cap) is compared with the requestor's
  executions it covers, counted from Execution records.
- An algorithm-scoped permission allows executions of that algorithm, never downloads.
"""

from __future__ import annotations

from dataclasses import dataclass

from api_app.index import RecordIndex
from fishnet_stack.model import (
    Dataset,
    Execution,
    ExecutionStatus,
    Permission,
    PermissionStatus,
    Timeseries,
)

__all__ = ["Access", "is_free"]

# Executions that consumed a use of a permission.
_COUNTED = {ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.SUCCESS,
            ExecutionStatus.FAILED}


def is_free(dataset: Dataset) -> bool:
    return dataset.price is not None and dataset.price.strip() in ("0", "0.0", "")


@dataclass(frozen=True)
class Access:
    """Permission checks over ``index``."""

    index: RecordIndex

    def uses(self, permission: Permission) -> int:
        """Executions of the requestor that this permission's quota counts."""
        executions = self.index.find(Execution, owner=permission.requestor,
                                     datasetID=permission.datasetID)
        return sum(1 for e in executions if e.status in _COUNTED and (
            permission.algorithmID is None or e.algorithmID == permission.algorithmID))

    def _grants(self, requestor: str, dataset: Dataset, ts: Timeseries) -> list[Permission]:
        found = []
        for permission in self.index.find(Permission, requestor=requestor,
                                          status=PermissionStatus.GRANTED.value):
            if permission.authorizer.lower() != ts.owner.lower():
                continue
            if permission.timeseriesID == ts.item_hash or (
                    permission.timeseriesID is None and permission.datasetID == dataset.item_hash):
                if permission.maxExecutionCount is None or (
                        self.uses(permission) < permission.maxExecutionCount):
                    found.append(permission)
        return found

    def may_download(self, caller: str, dataset: Dataset, ts: Timeseries) -> bool:
        """Whether ``caller`` may read the values of ``ts`` through ``dataset``."""
        if caller.lower() == ts.owner.lower() or is_free(dataset):
            return True
        return any(p.algorithmID is None for p in self._grants(caller, dataset, ts))

    def may_execute(self, caller: str, dataset: Dataset, ts: Timeseries,
                    algorithm_id: str) -> bool:
        """Whether ``caller`` may run ``algorithm_id`` on ``ts`` through ``dataset``."""
        if caller.lower() == ts.owner.lower() or is_free(dataset):
            return True
        return any(p.algorithmID in (None, algorithm_id)
                   for p in self._grants(caller, dataset, ts))

    def dataset_status(self, viewer: str, dataset: Dataset) -> str:
        """``permission_status`` of ``dataset`` for ``viewer`` (DatasetPermissionStatus)."""
        series = self.index.get_many(Timeseries, dataset.timeseriesIDs)
        if all(self.may_download(viewer, dataset, ts) for ts in series):
            return "GRANTED"
        statuses = {p.status for p in self.index.find(Permission, requestor=viewer,
                                                      datasetID=dataset.item_hash)}
        if PermissionStatus.REQUESTED in statuses:
            return "REQUESTED"
        if PermissionStatus.DENIED in statuses:
            return "DENIED"
        return "NOT REQUESTED"

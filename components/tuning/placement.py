"""Free the CPUs of trials Tune has stopped: placement groups whose creator died.

Ray Train V2 creates each trial's worker placement group from the trial's Train
controller. When Tune ends a trial by killing its actor, the controller dies with it
and the group outlives it, holding its CPUs, until the job ends; Train's detached
``PlacementGroupCleaner`` should remove it but asks the dashboard's State API,
which is missing (``ray`` without ``[default]``) or may fail (two local Ray
instances on one machine: "Found multiple active Ray instances"). Then the next
trial's workers wait for CPUs that never come. The sweep's driver removes such
groups itself (:class:`ReleaseOrphanedGroups`), reading GCS's placement-group table:
a group whose creator actor is dead and that is not detached has no owner left.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ray.tune import Callback

log = logging.getLogger(__name__)


def orphaned_placement_groups() -> list[str]:
    """Hex ids of the live (pending or created) placement groups whose creator actor
    is dead and that are not detached."""
    import ray
    from ray._private.state import state
    from ray.core.generated import gcs_pb2

    table = gcs_pb2.PlacementGroupTableData  # type: ignore[attr-defined]  # protobuf, no stubs
    live = {table.PENDING, table.PREPARED, table.CREATED, table.RESCHEDULING}
    accessor = state._connect_and_get_accessor()
    orphans = []
    for raw in accessor.get_placement_group_table():
        data = table.FromString(raw)
        # A group the driver itself made (Tune's own, one per trial) has a nil creator
        # actor, which GCS reports as dead: it belongs to the job and is left alone.
        made_by_actor = bool(data.creator_actor_id) and \
            not ray.ActorID(data.creator_actor_id).is_nil()
        if data.state in live and made_by_actor and data.creator_actor_dead \
                and not data.is_detached:
            orphans.append(data.placement_group_id.hex())
    return orphans


def release_orphaned_placement_groups() -> int:
    """Remove every orphaned placement group (see the module docstring); how many."""
    from ray._raylet import PlacementGroupID
    from ray.util.placement_group import PlacementGroup, remove_placement_group

    released = 0
    for hex_id in orphaned_placement_groups():
        try:
            remove_placement_group(PlacementGroup(PlacementGroupID(bytes.fromhex(hex_id))))
            released += 1
        except Exception as exc:  # noqa: BLE001 - removed meanwhile by Ray's own cleaner
            log.debug("placement group %s: %s", hex_id, exc)
    if released:
        log.info("freed %d placement group(s) left by stopped trials", released)
    return released


class ReleaseOrphanedGroups(Callback):
    """A Tune callback: release orphaned placement groups when a trial ends, and every
    ``interval_s`` while the sweep runs (a dead controller is seen a moment late)."""

    def __init__(self, interval_s: float = 5.0) -> None:
        self.interval_s = interval_s
        self._last = 0.0

    def _release(self) -> None:
        self._last = time.monotonic()
        try:
            release_orphaned_placement_groups()
        except Exception as exc:  # noqa: BLE001 - never stop a sweep over bookkeeping
            log.warning("could not check for orphaned placement groups: %s", exc)

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if time.monotonic() - self._last >= self.interval_s:
            self._release()

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any,
                          **info: Any) -> None:
        self._release()

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any,
                       **info: Any) -> None:
        self._release()

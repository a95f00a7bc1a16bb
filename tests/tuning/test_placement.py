"""A placement group whose creator actor was killed is freed by the sweep's driver."""

from __future__ import annotations

import time

import pytest

from components.tuning.placement import (
    orphaned_placement_groups,
    release_orphaned_placement_groups,
)


@pytest.mark.integration
def test_a_killed_creators_placement_group_is_released(ray_session: None) -> None:
    import ray
    from ray.util.placement_group import placement_group

    @ray.remote(num_cpus=0)
    class Controller:  # stands in for a Train controller that Tune kills with its trial
        def reserve(self) -> str:
            group = placement_group([{"CPU": 1}])
            ray.get(group.ready())
            return group.id.hex()

    controller = Controller.remote()
    group_id = ray.get(controller.reserve.remote())
    assert group_id not in orphaned_placement_groups()  # its owner is alive
    # One the driver made (as Tune does for each trial) has no creator actor: never orphaned.
    own = placement_group([{"CPU": 0.01}])
    ray.get(own.ready())
    assert own.id.hex() not in orphaned_placement_groups()
    free_before = ray.available_resources().get("CPU", 0.0)
    ray.kill(controller)
    deadline = time.monotonic() + 30
    while group_id not in orphaned_placement_groups():
        assert time.monotonic() < deadline, "the dead creator was never recorded"
        time.sleep(0.2)
    assert release_orphaned_placement_groups() >= 1
    while ray.available_resources().get("CPU", 0.0) < free_before + 1:
        assert time.monotonic() < deadline, "the CPU never came back"
        time.sleep(0.2)
    assert group_id not in orphaned_placement_groups()
    assert own.id.hex() not in orphaned_placement_groups()
    ray.util.remove_placement_group(own)

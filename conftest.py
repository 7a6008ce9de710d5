"""Project-wide pytest setup: tests marked `online` run only when the Hugging Face Hub answers."""

import pytest


def pytest_collection_modifyitems(config, items):
    online = [item for item in items if "online" in item.keywords]
    if not online:
        return
    from mmembed.hub import hub_reachable

    if hub_reachable():
        return
    skip = pytest.mark.skip(reason="the Hugging Face Hub cannot be reached from this machine")
    for item in online:
        item.add_marker(skip)

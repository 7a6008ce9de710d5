"""Project-wide pytest setup.

- Tests marked `online` run only when the Hugging Face Hub answers.
- Under pytest-xdist (`--dist loadgroup`), a slow test with no `xdist_group` of its own runs on the same worker as
  the rest of its module, so a module-scoped fixture (a graded class, an nbgrader course) is built once. Fast
  tests spread over both workers one by one.
"""

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("xdist_group") is None and item.get_closest_marker("slow") is not None:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))

    online = [item for item in items if "online" in item.keywords]
    if not online:
        return
    from mmembed.zoo.hub import hub_reachable

    if hub_reachable():
        return
    skip = pytest.mark.skip(reason="the Hugging Face Hub cannot be reached from this machine")
    for item in online:
        item.add_marker(skip)

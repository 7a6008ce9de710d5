"""A student's kernel started by nbgrader's machinery in the sandbox (notebooks/kernel_manager.py), tried inside."""

import os

import pytest

from autograder.notebooks.kernel_manager import SandboxedKernelManager
from autograder.sandbox import bubblewrap
from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.skipif(not bubblewrap.status().available, reason=bubblewrap.status().reason or "no sandbox")

PROBE = f"""
import os, json, socket
seen = {{
    "uid": os.getuid(),
    "solutions": os.path.exists({str(REPO_ROOT / "solutions")!r}),
    "autograder": os.path.exists({str(REPO_ROOT / "autograder")!r}),
    "models": os.path.isdir({str(REPO_ROOT / "models" / "mini")!r}),
    "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
}}
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    seen["network"] = True
except OSError:
    seen["network"] = False
print(json.dumps(seen))
"""


async def run_in_kernel(code: str) -> str:
    manager = SandboxedKernelManager(kernel_name="python3")
    await manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=120)
        output = []
        reply = await client.execute_interactive(
            code, timeout=120, output_hook=lambda msg: output.append(msg["content"].get("text", ""))
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(output), manager
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


@pytest.mark.slow
def test_the_kernel_sees_only_the_course_and_no_network():
    import asyncio
    import json
    from concurrent.futures import ThreadPoolExecutor

    # A thread of its own: on a worker that also ran the browser tests, Playwright's
    # sync API keeps an event loop running in the main thread, and asyncio.run refuses.
    with ThreadPoolExecutor(1) as pool:
        printed, manager = pool.submit(asyncio.run, run_in_kernel(PROBE)).result()
    seen = json.loads(printed)
    assert seen["solutions"] is False and seen["autograder"] is False and seen["models"] is True
    assert seen["network"] is False and seen["processes"] < 10
    if os.geteuid() == 0:
        assert seen["uid"] != 0
    assert manager.transport == "ipc" and not manager.socket_dir.exists()  # the socket folder is removed

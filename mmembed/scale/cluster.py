"""Ray, imported and started the quiet way: no usage statistics, no auth token, its logs in a file.

Ray is an optional extra (`pip install ".[scale]"`), so it is imported here and nowhere else, and only when the Ray
engine is asked for. Three settings come before `import ray`, because Ray reads them at import and its processes
inherit them when a local cluster starts:

    RAY_USAGE_STATS_ENABLED=0   Ray would otherwise send usage statistics
    RAY_AUTH_MODE=disabled      Ray 2.5x+ would otherwise write a token to ~/.ray/auth_token
    (both with setdefault: a user who set them for a cluster of their own keeps their choice)

A local cluster logs to files under its temporary folder, never to the notebook or the terminal: the driver's
INFO lines are off (logging_level WARNING), the workers' output stays in their log files (log_to_driver False),
and Ray Data's progress bars and execution lines go to a file (`quiet_ray_data`).
"""

import contextlib
import logging
import os
import tempfile
from pathlib import Path

QUIET_ENVIRONMENT = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
INSTALL_HINT = 'pip install "mmembed[scale]"  (저장소 폴더에서는: pip install ".[scale]")'


class RayMissingError(ImportError):
    """The Ray engine was asked for, but Ray (the optional `scale` extra) is not installed."""


class RayStartError(RuntimeError):
    """A local Ray cluster did not come up. Ray 2.60's raylet gives its agents 15 s to start, and each Ray process
    spends ~2.5 CPU-seconds importing (jsonschema's optional rfc3987-syntax builds a grammar): on a 2-core machine
    running many other jobs (load average above ~10, measured here) that is not enough."""


def import_ray():
    """The `ray` module, with the quiet settings in the environment first; RayMissingError says how to install it."""
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data needs pyarrow and pandas: ray[data])
    except ImportError as error:
        raise RayMissingError(
            f"Ray가 설치되어 있지 않습니다 ({error.name or error}). "
            f"여러 작업자로 임베딩하려면 먼저 설치하세요: {INSTALL_HINT}"
        ) from error
    return ray


@contextlib.contextmanager
def ray_cluster(address: str | None = None, log_folder: str | Path | None = None):
    """`(ray, log folder)` for the `with` block; what was started is stopped after it.

    - Ray already running in this process (a notebook or a test session that called ray.init): used as it is,
      and left running (log folder None: that session's own).
    - `address` ("auto", "ray://head:10001", a GCS address): that cluster, disconnected from afterwards.
    - neither: a local cluster of this machine's cores, shut down afterwards; its logs in `log_folder`
      (a new temporary folder by default).
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray, None
        return
    if address:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        folder = None
    else:
        folder = start_local_cluster(log_folder)
    try:
        yield ray, folder
    finally:
        ray.shutdown()


def start_local_cluster(log_folder: str | Path | None = None, num_cpus: int | None = None) -> Path:
    """Start a local cluster of this machine's cores (or `num_cpus`) that runs until `ray.shutdown()`, with its
    files and logs in `log_folder` (a new temporary folder by default); returns that folder."""
    ray = import_ray()
    folder = Path(log_folder or tempfile.mkdtemp(prefix="mmembed-ray-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        ray.init(
            num_cpus=num_cpus or os.cpu_count() or 1,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
            _temp_dir=str(folder),
        )
    except Exception as error:  # Ray 2.60 raises a bare Exception when its processes start too slowly
        if ray.is_initialized():
            ray.shutdown()
        raise RayStartError(
            f"Ray의 로컬 클러스터가 제때 시작하지 못했습니다 ({error}). 이 컴퓨터가 몹시 바쁘면 일어납니다: "
            f"잠시 뒤에 다시 실행하거나, --engine 없이 한 프로세스로 인덱싱하세요. Ray의 로그: {folder}"
        ) from error
    quiet_ray_data(ray, folder)
    return folder


def quiet_ray_data(ray, log_folder: Path) -> None:
    """Ray Data's progress bars and execution lines off the screen, into `log_folder`/ray-data-driver.log."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    log_file = str(log_folder / "ray-data-driver.log")
    for name in ("ray", "ray.data"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if type(handler) is logging.StreamHandler:
                logger.removeHandler(handler)
        if not any(getattr(handler, "baseFilename", None) == log_file for handler in logger.handlers):
            logger.addHandler(logging.FileHandler(log_file, encoding="utf-8"))
        logger.propagate = False

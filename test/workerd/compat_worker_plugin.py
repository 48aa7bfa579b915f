"""pytest plugin: the real-client compatibility suite (test/compat) against the Worker instead of the Node entry.

    PYTHONPATH=test/workerd npm run test:compat -- -p compat_worker_plugin

Every `start_regate` of the suite (the session server and the ones tests start with their own settings) is
replaced by one that runs `node test/helpers/worker-server.ts`: `wrangler dev --local` on a free loopback port,
fresh local D1 and R2 state, a random KEK, and the suite's other REGATE_* settings as Worker vars. Nothing of
test/compat changes; the differences this run finds are what differs between the runtimes.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "node_modules" / ".bin" / "node"
START_TIMEOUT_S = 120


def start_worker(workdir: Path, extra_env: dict[str, str] | None = None):
    import conftest

    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "worker.log"
    env = conftest.clean_env()
    env.update(extra_env or {})
    found: dict[str, str] = {}

    def on_line(raw: str) -> bool:
        m = re.match(r"(REGATE_URL|REGATE_ADMIN_TOKEN)=(\S+)", raw.strip())
        if m:
            found[m.group(1)] = m.group(2)
        return len(found) == 2

    proc = conftest.spawn_until_ready(
        [str(NODE), "test/helpers/worker-server.ts"], env, log_path, "worker-stdout", on_line, START_TIMEOUT_S
    )
    rg = conftest.Regate(found.get("REGATE_URL", ""), found.get("REGATE_ADMIN_TOKEN", ""), workdir, log_path, proc)
    if len(found) != 2:
        rg.stop()
        raise RuntimeError(f"the Worker did not start (exit code {proc.poll()}):\n{log_path.read_text(errors='replace')[-4000:]}")
    return rg


def pytest_collection_finish(session) -> None:
    # Test modules bound `start_regate` at import (`from conftest import start_regate`): replace it everywhere.
    for name, mod in list(sys.modules.items()):
        if mod is not None and getattr(mod, "start_regate", None) is not None and (name == "conftest" or name.startswith("test_")):
            mod.start_regate = start_worker

"""Fixtures for regate's real-client compatibility suite: a live regate process, SDK clients for the admin
and for freshly made identities, and an environment switch that makes MLflow's fluent API and MlflowClient
talk to regate as a given identity.

What the clients sent that wire-protocol.md did not predict (mlflow-skinny 3.17.2, databricks-sdk 0.162.0;
seen with REGATE_COMPAT_TRACE, see trace_proxy.py):
- Raw upload of an EMPTY file (`POST /dbfs/databricks/mlflow/tmp-external-source//<id>/...`) arrives with
  `Transfer-Encoding: chunked` and no Content-Length (MLflow passes data="" through the SDK's
  api_client.do); non-empty files carry Content-Length. Listing an upload area addressed without a path
  (DbfsRestArtifactRepository.list_artifacts()) sends `path=/databricks/mlflow/tmp-external-source/<id>/`
  with a trailing slash.
- Raw `/dbfs/...` POSTs and `/api/2.0/dbfs/list` from MLflow carry `X-MLflow-Client-Version` and
  `x-databricks-org-id` like its registry calls. The SDK sends `X-Databricks-Workspace-Id` on SCIM, token,
  permissions and DBFS calls too, not only on ml.py/files.py services.
- Signed-URI GETs (whole-file and ranged chunks, in-process and from the chunk subprocesses) carry only
  `User-Agent: python-requests/<v>`, `Accept-Encoding: gzip, deflate`, `Accept: */*` and, for chunks,
  `Range: bytes=a-b`: no Authorization, no MLflow headers.
- A third of all requests in a full run (390 of 1167) were `GET /.well-known/databricks-config`: one per
  MLflow REST call, confirming the inference in §1.3.
- The SDK lists SCIM resources with `startIndex=1&count=10000`; `w.dbfs.read(path)` without arguments sends
  neither `offset` nor `length`; `w.dbfs.download` is get-status then read(offset=0, length=1048576).
- Field types: comment `available_actions` decode as CommentActivityAction (not ActivityAction). The root
  ACL entry regate reports for `users` (CAN_CREATE_REGISTERED_MODEL) decodes as permission_level=None:
  neither RegisteredModelPermissionLevel nor iam.PermissionLevel has that value, so no SDK call can send it.
Client behaviour worth knowing (not regate's doing):
- MlflowClient(registry_uri='databricks') builds the tracking store eagerly; with MLFLOW_TRACKING_URI=sqlite
  that needs SQLAlchemy + alembic, which mlflow-skinny leaves out (else UnsupportedModelRegistryStore...
  before any HTTP), and the first use migrates the database (~5 s).
- MlflowClient.rename_registered_model returns None (the store's result is dropped).
- DbfsRestArtifactRepository('dbfs:/...') built directly takes credentials from the *tracking* store and
  fails with a sqlite tracking URI; the `dbfs://databricks/...` form register_model uses reads
  DATABRICKS_HOST/TOKEN (helpers in test_artifacts.py use that form).
- RestException.message is "<ERROR_CODE>: <server message>".
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import pytest

from helpers import unique, version_source

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "node_modules" / ".bin" / "node"
LISTENING = re.compile(r"regate listening on (http://\S+)")
START_TIMEOUT_S = 60
PER_TEST_TIMEOUT_S = int(os.environ.get("REGATE_COMPAT_TEST_TIMEOUT", "240"))
NO_CONFIG_FILE = str(ROOT / ".venv-compat" / "no-such-databrickscfg")

# The suite must never pick up a developer's or CI's Databricks settings: drop every DATABRICKS_* variable
# and point both clients' config-file lookup at a file that does not exist.
for _k in [k for k in os.environ if k.startswith("DATABRICKS_")]:
    del os.environ[_k]
os.environ["DATABRICKS_CONFIG_FILE"] = NO_CONFIG_FILE


# --------------------------------------------------------------------------------------------------------
# regate processes


@dataclass
class Regate:
    url: str
    admin_token: str
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen

    def log_tail(self, n: int = 40) -> str:
        """The last n warning/error lines of regate's JSON log (info lines are mostly download records)."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        notable = [ln for ln in lines if '"level":"info"' not in ln]
        return "\n".join((notable or lines)[-n:])

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def clean_env() -> dict[str, str]:
    """This process's environment without DATABRICKS_*, REGATE_* and MLFLOW_* variables, for a server under test."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "REGATE_", "MLFLOW_"))}


def spawn_until_ready(
    argv: list[str], env: dict[str, str], log_path: Path, thread_name: str, on_line: Callable[[str], bool], timeout_s: float
) -> subprocess.Popen:
    """Starts `argv` in the repository, stderr to `log_path`. A thread drains stdout for the whole life of the
    process (so it can never block on a full pipe), handing each line to `on_line`, which says when the server is
    ready. Returns once it is, stdout closed, or `timeout_s` passed; the caller checks what `on_line` saw.
    Shared by start_regate (the Node entry) and test/workerd/compat_worker_plugin.py (the Worker)."""
    log = open(log_path, "wb")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
    log.close()
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            if on_line(raw.decode(errors="replace")):
                ready.set()
        ready.set()

    threading.Thread(target=pump, name=thread_name, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not ready.wait(0.1):
        if time.monotonic() > deadline:
            break
    return proc


def start_regate(workdir: Path, extra_env: dict[str, str] | None = None) -> Regate:
    """Starts `node src/runtime/node.ts` on a free loopback port (PORT=0) with a fresh data directory and a
    random admin token; returns once it printed its listening line."""
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "data"
    log_path = workdir / "regate.stderr.log"
    admin_token = "dapi" + secrets.token_hex(16)
    env = clean_env()
    env.update(PORT="0", HOST="127.0.0.1", REGATE_DATA_DIR=str(data_dir), REGATE_ADMIN_TOKEN=admin_token)
    env.update(extra_env or {})
    found: dict[str, str] = {}
    stdout_lines: list[str] = []

    def on_line(raw: str) -> bool:
        line = raw.rstrip("\n")
        stdout_lines.append(line)
        m = LISTENING.search(line)
        if m and "url" not in found:
            found["url"] = m.group(1)
        return "url" in found

    proc = spawn_until_ready([str(NODE), "src/runtime/node.ts"], env, log_path, "regate-stdout", on_line, START_TIMEOUT_S)
    rg = Regate(found.get("url", ""), admin_token, data_dir, log_path, proc)
    if "url" not in found:
        rg.stop()
        raise RuntimeError(
            f"regate did not print its listening line within {START_TIMEOUT_S} s "
            f"(exit code {proc.poll()}).\nstdout:\n" + "\n".join(stdout_lines) + "\nstderr:\n" + rg.log_tail()
        )
    return rg


_STARTED: dict[str, Regate] = {}


@pytest.fixture(scope="session")
def regate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Regate]:
    rg = start_regate(tmp_path_factory.mktemp("regate"))
    _STARTED["session"] = rg
    proxy = None
    if os.environ.get("REGATE_COMPAT_TRACE"):
        # Debugging aid: route every client through a recording proxy (see trace_proxy.py).
        from trace_proxy import start_trace_proxy

        rg.url, proxy = start_trace_proxy(rg.url, os.environ["REGATE_COMPAT_TRACE"])
    yield rg
    if proxy is not None:
        proxy.shutdown()
    rg.stop()


@pytest.fixture(scope="session")
def base_url(regate: Regate) -> str:
    return regate.url


@pytest.fixture(autouse=True)
def _per_test_timeout(request: pytest.FixtureRequest) -> Iterator[None]:
    """A hung client (retrying a 5xx for minutes, a stuck download) fails its test instead of the CI run."""
    rg = _STARTED.get("session")
    if rg is not None and rg.proc.poll() is not None:
        pytest.fail(f"regate exited (code {rg.proc.returncode}) before this test:\n{rg.log_tail()}")

    def expire(signum, frame):  # noqa: ARG001
        raise TimeoutError(f"{request.node.nodeid} took longer than {PER_TEST_TIMEOUT_S} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(PER_TEST_TIMEOUT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, appends the tail of regate's stderr to the report: the server side of what went wrong."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        rg = item.funcargs.get("regate_ttl") or _STARTED.get("session")
        if isinstance(rg, Regate):
            report.sections.append(("regate stderr (tail)", rg.log_tail(15)))


# --------------------------------------------------------------------------------------------------------
# identities


@dataclass(eq=False)  # hashable by identity, so identities can key a grants dict
class Identity:
    kind: str  # 'user' | 'service_principal' | 'group'
    name: str  # user_name, application_id, or group display name
    id: str  # SCIM id
    token: str | None = None
    token_id: str | None = None
    display_name: str | None = None


def sdk_client(url: str, token: str):
    """WorkspaceClient(host=url, token=token), with the SDK's retry deadline cut from 300 s to 30 s so a
    dead or stuck regate fails a test quickly (WorkspaceClient takes that knob only through a Config)."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    return WorkspaceClient(config=Config(host=url, token=token, retry_timeout_seconds=30))


@pytest.fixture(scope="session")
def admin(regate: Regate):
    """The bootstrap admin's WorkspaceClient."""
    return sdk_client(regate.url, regate.admin_token)


@pytest.fixture(scope="session")
def admin_identity(regate: Regate, admin) -> Identity:
    me = admin.current_user.me()
    return Identity("user", me.user_name, me.id, regate.admin_token)


class Principals:
    """Makes users, groups and service principals through the SDK's SCIM methods, and tokens for them."""

    def __init__(self, rg: Regate, admin_client) -> None:
        self.rg = rg
        self.w = admin_client

    def user(self, prefix: str = "user", *, token: bool = True) -> Identity:
        name = f"{unique(prefix)}@example.com"
        u = self.w.users.create(user_name=name, display_name=name.split("@")[0])
        ident = Identity("user", u.user_name, u.id, display_name=u.display_name)
        if token:
            # regate's extension: the on-behalf-of endpoint also takes user_name (no SDK method has it).
            res = self.w.api_client.do(
                "POST", "/api/2.0/token-management/on-behalf-of/tokens",
                body={"user_name": name, "comment": "compat suite", "lifetime_seconds": 3600},
            )
            ident.token, ident.token_id = res["token_value"], res["token_info"]["token_id"]
        return ident

    def service_principal(self, prefix: str = "sp", *, token: bool = True) -> Identity:
        sp = self.w.service_principals.create(display_name=unique(prefix))
        ident = Identity("service_principal", sp.application_id, sp.id, display_name=sp.display_name)
        if token:
            res = self.w.token_management.create_obo_token(
                application_id=sp.application_id, comment="compat suite", lifetime_seconds=3600
            )
            ident.token, ident.token_id = res.token_value, res.token_info.token_id
        return ident

    def group(self, prefix: str = "group", members: Sequence[Identity] = ()) -> Identity:
        from databricks.sdk.service.iam import ComplexValue

        g = self.w.groups.create(display_name=unique(prefix), members=[ComplexValue(value=m.id) for m in members] or None)
        return Identity("group", g.display_name, g.id)

    def add_members(self, group: Identity, members: list[Identity]) -> None:
        from databricks.sdk.service.iam import Patch, PatchOp, PatchSchema

        self.w.groups.patch(
            group.id,
            operations=[Patch(op=PatchOp.ADD, path="members", value=[{"value": m.id} for m in members])],
            schemas=[PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP],
        )

    def remove_member(self, group: Identity, member: Identity) -> None:
        from databricks.sdk.service.iam import Patch, PatchOp, PatchSchema

        self.w.groups.patch(
            group.id,
            operations=[Patch(op=PatchOp.REMOVE, path=f'members[value eq "{member.id}"]')],
            schemas=[PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP],
        )

    def sdk(self, ident: Identity):
        assert ident.token, f"{ident.name} has no token"
        return sdk_client(self.rg.url, ident.token)


@pytest.fixture(scope="session")
def principals(regate: Regate, admin) -> Principals:
    return Principals(regate, admin)


# --------------------------------------------------------------------------------------------------------
# MLflow as an identity

# Client retry knobs shortened so a wrong 5xx from regate fails a test in seconds rather than minutes of
# MLflow's exponential backoff (regate should never answer 5xx; see wire-protocol.md §1.5).
FAST_FAIL_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_DATABRICKS_ENDPOINT_HTTP_RETRY_TIMEOUT": "30",
}


@contextlib.contextmanager
def as_identity(url: str, token: str, workdir: Path, extra_env: dict[str, str] | None = None):
    """Sets the environment a user of the workspace registry would have: DATABRICKS_HOST/TOKEN for this
    identity, MLFLOW_REGISTRY_URI=databricks, and a local sqlite tracking store (as when registering a
    locally saved model). Every other DATABRICKS_* variable is removed and ~/.databrickscfg is ignored.
    Yields an MlflowClient(registry_uri='databricks'); the environment is restored on exit."""
    from mlflow import MlflowClient

    saved = dict(os.environ)
    try:
        for k in [k for k in os.environ if k.startswith("DATABRICKS_")]:
            del os.environ[k]
        workdir.mkdir(parents=True, exist_ok=True)
        os.environ.update(
            DATABRICKS_HOST=url,
            DATABRICKS_TOKEN=token,
            DATABRICKS_CONFIG_FILE=NO_CONFIG_FILE,
            MLFLOW_REGISTRY_URI="databricks",
            MLFLOW_TRACKING_URI=f"sqlite:///{workdir}/mlflow.db",
            **FAST_FAIL_ENV,
        )
        os.environ.update(extra_env or {})
        yield MlflowClient(registry_uri="databricks")
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def mlflow_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One tracking database for the session: MLflow migrates a new sqlite store on first use (~5 s).
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture
def mlflow_as(regate: Regate, mlflow_workdir: Path):
    """`with mlflow_as(identity) as client:` runs MLflow (fluent API and the yielded MlflowClient) as that
    identity against the session's regate."""
    def enter(ident: Identity, **extra_env: str):
        assert ident.token, f"{ident.name} has no token"
        return as_identity(regate.url, ident.token, mlflow_workdir, extra_env)
    return enter


@pytest.fixture
def new_model(regate: Regate, admin, tmp_path: Path, mlflow_workdir: Path):
    """Creates a registered model as the admin (optionally with versions, whose source comes from
    helpers.version_source) and grants levels: `new_model('p', grants={ident: 'CAN_READ'}, versions=2)`
    returns (name, model id)."""
    from databricks.sdk.service.ml import RegisteredModelAccessControlRequest, RegisteredModelPermissionLevel

    def make(prefix: str = "model", grants: dict | None = None, versions: int = 0, source: str | None = None):
        name = unique(prefix)
        admin.model_registry.create_model(name=name)
        if versions and source is None:
            with as_identity(regate.url, regate.admin_token, mlflow_workdir):
                source = version_source(tmp_path)
        for _ in range(versions):
            admin.model_registry.create_model_version(name=name, source=source)
        model_id = admin.model_registry.get_model(name=name).registered_model_databricks.id
        acl = []
        for ident, level in (grants or {}).items():
            key = {"user": "user_name", "group": "group_name", "service_principal": "service_principal_name"}[ident.kind]
            acl.append(RegisteredModelAccessControlRequest(permission_level=RegisteredModelPermissionLevel(level), **{key: ident.name}))
        if acl:
            admin.model_registry.update_permissions(model_id, access_control_list=acl)
        return name, model_id
    return make

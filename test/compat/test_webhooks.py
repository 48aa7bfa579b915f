"""Registry webhooks through the Databricks SDK's ModelRegistryAPI (create_webhook, list_webhooks, update_webhook,
test_registry_webhook, delete_webhook) against a regate of their own, started with REGATE_WEBHOOK_ALLOW_HOSTS
naming loopback so that a receiver in this process (http.server on 127.0.0.1) may be called, and a short poll
period so deliveries arrive within a second. Checks field names and enums as the SDK decodes them, the HMAC
signature of a real event delivery, job_spec refused, and CAN_MANAGE required.

The Databricks CLI's `databricks model-registry list-webhooks` is not exercised: the CLI is a Go program whose
module archive the Go module proxy refuses here (403 for github.com/databricks/cli v0.250.0's zip), so it cannot
be built on this machine."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from databricks.sdk.errors import InvalidParameterValue, PermissionDenied
from databricks.sdk.service.ml import (
    HttpUrlSpec,
    JobSpec,
    RegisteredModelAccessControlRequest,
    RegisteredModelPermissionLevel,
    RegistryWebhookEvent,
    RegistryWebhookStatus,
)

from conftest import Principals, sdk_client, start_regate
from helpers import unique


class Receiver:
    """An HTTP receiver on 127.0.0.1 recording every POST (headers and raw body) and answering 200."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.cond:
                    outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    outer.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"received")

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, pred, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                hit = [x for x in self.got if pred(json.loads(x[1]))]
                if hit:
                    return hit
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching delivery within {timeout} s; got {len(self.got)}")
                self.cond.wait(left)


@pytest.fixture(scope="module")
def regate_hooks(tmp_path_factory):
    rg = start_regate(tmp_path_factory.mktemp("regate-hooks"), {
        "REGATE_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "REGATE_WEBHOOK_POLL_SECONDS": "0.2",
        "REGATE_EXTERNAL_SOURCE_PREFIXES": "s3://",
    })
    yield rg
    rg.stop()


@pytest.fixture(scope="module")
def receiver():
    rx = Receiver()
    yield rx
    rx.server.shutdown()


def test_webhook_lifecycle_through_the_sdk(regate_hooks, receiver):
    w = sdk_client(regate_hooks.url, regate_hooks.admin_token)
    name = unique("hooked")
    w.model_registry.create_model(name=name)

    created = w.model_registry.create_webhook(
        events=[RegistryWebhookEvent.MODEL_VERSION_CREATED, RegistryWebhookEvent.MODEL_VERSION_TRANSITIONED_TO_PRODUCTION],
        model_name=name,
        description="fleet rollout",
        http_url_spec=HttpUrlSpec(url=receiver.url, secret="compat-secret", authorization="Bearer rx"),
    ).webhook
    assert created.id and len(created.id) == 32
    assert created.status == RegistryWebhookStatus.ACTIVE
    assert created.events == [RegistryWebhookEvent.MODEL_VERSION_CREATED, RegistryWebhookEvent.MODEL_VERSION_TRANSITIONED_TO_PRODUCTION]
    assert created.model_name == name
    assert created.description == "fleet rollout"
    assert created.http_url_spec.url == receiver.url
    assert created.http_url_spec.enable_ssl_verification is True
    assert created.creation_timestamp and created.last_updated_timestamp

    listed = list(w.model_registry.list_webhooks(model_name=name))
    assert [x.id for x in listed] == [created.id]
    assert [x.id for x in w.model_registry.list_webhooks(events=[RegistryWebhookEvent.MODEL_VERSION_CREATED])] == [created.id]
    assert list(w.model_registry.list_webhooks(events=[RegistryWebhookEvent.COMMENT_CREATED])) == []

    # A real event: a new version is delivered, signed with HMAC-SHA256 of the body.
    w.model_registry.create_model_version(name=name, source="s3://bucket/model")
    (headers, body), = receiver.wait_for(lambda b: b["event"] == "MODEL_VERSION_CREATED" and b["model_name"] == name)
    payload = json.loads(body)
    assert payload["webhook_id"] == created.id and payload["version"] == "1"
    assert isinstance(payload["event_timestamp"], int)
    expected = hmac.new(b"compat-secret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-databricks-signature"], expected)
    assert headers["authorization"] == "Bearer rx"

    updated = w.model_registry.update_webhook(created.id, status=RegistryWebhookStatus.TEST_MODE, description="paused").webhook
    assert updated.status == RegistryWebhookStatus.TEST_MODE and updated.description == "paused"
    assert updated.http_url_spec.url == receiver.url

    before = len(receiver.got)
    res = w.model_registry.test_registry_webhook(created.id, event=RegistryWebhookEvent.MODEL_VERSION_TRANSITIONED_TO_PRODUCTION)
    assert res.status_code == 200 and res.body == "received"
    assert len(receiver.got) == before + 1
    sample = json.loads(receiver.got[-1][1])
    assert sample["event"] == "MODEL_VERSION_TRANSITIONED_TO_PRODUCTION" and sample["to_stage"] == "Production"

    w.model_registry.delete_webhook(created.id)
    assert list(w.model_registry.list_webhooks(model_name=name)) == []


def test_job_spec_is_refused_and_can_manage_is_needed(regate_hooks, receiver):
    w = sdk_client(regate_hooks.url, regate_hooks.admin_token)
    name = unique("guarded")
    w.model_registry.create_model(name=name)
    with pytest.raises(InvalidParameterValue, match="job_spec webhooks are not supported"):
        w.model_registry.create_webhook(events=[RegistryWebhookEvent.COMMENT_CREATED], model_name=name,
                                        job_spec=JobSpec(job_id="1", access_token="dapi0"))
    with pytest.raises(InvalidParameterValue, match="REGATE_WEBHOOK_ALLOW_HOSTS"):
        w.model_registry.create_webhook(events=[RegistryWebhookEvent.COMMENT_CREATED], model_name=name,
                                        http_url_spec=HttpUrlSpec(url="https://169.254.169.254/latest"))

    principals = Principals(regate_hooks, w)
    editor = principals.user("hook-editor")
    model_id = w.model_registry.get_model(name=name).registered_model_databricks.id
    w.model_registry.update_permissions(model_id, access_control_list=[
        RegisteredModelAccessControlRequest(user_name=editor.name, permission_level=RegisteredModelPermissionLevel.CAN_EDIT)])
    as_editor = principals.sdk(editor)
    with pytest.raises(PermissionDenied, match="CAN_MANAGE"):
        as_editor.model_registry.create_webhook(events=[RegistryWebhookEvent.COMMENT_CREATED], model_name=name,
                                                http_url_spec=HttpUrlSpec(url=receiver.url))
    with pytest.raises(PermissionDenied):
        as_editor.model_registry.create_webhook(events=[RegistryWebhookEvent.REGISTERED_MODEL_CREATED],
                                                http_url_spec=HttpUrlSpec(url=receiver.url))
    assert list(as_editor.model_registry.list_webhooks()) == []
    assert list(w.model_registry.list_webhooks(model_name=name)) == []

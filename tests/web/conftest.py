import dataclasses
import email
import email.policy
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from core.tasks import configure_celery
from tests.conftest import agent_client_for, csrf_token


@pytest.fixture(autouse=True)
def task_sessions(request):
    """Tasks run inline from the test itself (not from a request, where each app binds its
    own) read the test's data, through the test's session factory."""
    from core.tasks import inline_with
    if "session_factory" not in request.fixturenames:
        yield
        return
    with inline_with(request.getfixturevalue("session_factory")):
        yield


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def wait_for(self, to: str, timeout: float = 5.0, *, subject: str = ""):
        """The first message to `to` (whose subject holds `subject`, when given)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if to in message["To"] and subject in message["Subject"]:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no e-mail to {to} arrived")


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on loopback; mail sent by the app during the test lands here."""
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    # Background work sees the test's settings (SHOP_URL for links), with this server.
    configure_celery(dataclasses.replace(settings, SMTP_URL=f"smtp://127.0.0.1:{port}"))
    yield sink
    controller.stop()
    configure_celery(settings)


# -- the console's catalogue (tests/web/test_console_catalog.py, test_catalog_forms.py) -----

CATALOG_AGENT = "catalog@marketline.example"


@pytest.fixture
def warehouse_client(console_app):
    """A console client signed in as the demo's warehouse agent."""
    return agent_client_for(console_app, "warehouse@marketline.example")


@pytest.fixture
def catalog_client(console_app):
    """A console client signed in as the demo's catalogue agent."""
    return agent_client_for(console_app, CATALOG_AGENT)


def catalog_post(client, path, data, **kwargs):
    """Post a catalogue form with a CSRF token from the catalogue's start page."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/catalog/")},
                       **kwargs)


def id_of(db, model, **where):
    """The id of the `model` row matching `where` (None when there is none)."""
    return db.scalar(select(model.id).filter_by(**where))

"""A gift card's code is e-mailed from the request itself: it never rests in the task
queue's broker (only the code's hash is stored, so nothing could re-read it later)."""
import pytest

from core import mail
from tests.conftest import agent_client_for
from tests.web.conftest import text_of
from tests.web.test_giftcards import CODE, paid, sell_form, text  # noqa: F401 - fixture


@pytest.fixture
def seller(console_app):
    return agent_client_for(console_app, "billing@marketline.example")


@pytest.fixture
def queued(monkeypatch):
    """Everything handed to the task queue (any Celery task), recorded, then run."""
    from celery.app.task import Task
    handed = []
    original = Task.apply_async

    def recording(self, args=None, kwargs=None, **options):
        handed.append((self.name, args, kwargs))
        return original(self, args, kwargs, **options)

    monkeypatch.setattr(Task, "apply_async", recording)
    return handed


def test_the_code_is_sent_without_passing_through_the_task_queue(seller, paid, smtp_sink,
                                                                queued):
    response = seller.post("/gift-cards/sell",
                           data=sell_form(seller, paid, recipient_email="gift.taker@example.com"))
    code = CODE.search(text(response)).group(0)
    assert code in text_of(smtp_sink.wait_for("gift.taker@example.com"))
    assert not any(code in str(args) for args in queued)


def test_when_the_code_cannot_be_sent_the_agent_is_told(seller, paid, monkeypatch, queued):
    def refused(message, smtp_url):
        raise OSError("connection refused")

    monkeypatch.setattr(mail, "deliver", refused)
    response = seller.post("/gift-cards/sell",
                           data=sell_form(seller, paid, recipient_email="gift.taker@example.com"))
    assert response.status_code == 200
    page = text(response)
    assert CODE.search(page)  # the code is on the page to give by hand
    assert "could not be sent" in page and queued == []

"""Tasks run inline take what the app that queued them has: its sessions and its payment
gateway (a Stripe event processed during a webhook request must not reach past a fake the
app was given); a worker, outside any app, builds Stripe's gateway from its settings."""
from __future__ import annotations

import pytest

from core import tasks
from core.payments.gateway import StripeGateway, for_task
from tests.fakes import FakeGateway


@pytest.fixture
def payment_gateway():
    return FakeGateway()


def test_a_task_run_inline_in_an_app_uses_that_apps_gateway(shop_app, console_app,
                                                             payment_gateway):
    for app in (shop_app, console_app):
        with app.app_context():
            assert for_task(tasks.context()) is payment_gateway


def test_outside_any_app_a_task_builds_stripes_gateway_from_its_settings():
    context = tasks.context()
    assert context.gateway is None
    assert isinstance(for_task(context), StripeGateway)

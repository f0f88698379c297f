"""Stripe webhooks: verified, stored by event id, processed by a background task."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from core.errors import DomainError
from core.payments import webhooks
from core.workflows.tasks import process_stripe_event
from core.web.db import db_session
from core.web.security import csrf

bp = Blueprint("webhooks", __name__)
log = logging.getLogger("marketline.webhooks")


@bp.post("/webhooks/stripe")
@csrf.exempt  # Stripe signs the request instead
def stripe_event():
    secret = current_app.config["MARKETLINE"].STRIPE_WEBHOOK_SECRET
    try:
        event = webhooks.verify(request.get_data(), request.headers.get("Stripe-Signature", ""),
                                secret)
    except DomainError as err:
        return jsonify({"type": "about:blank", "title": "Bad signature", "status": 400,
                        "detail": str(err)}), 400, {"Content-Type": "application/problem+json"}
    pending = webhooks.store(db_session, event)
    db_session.commit()
    if pending:
        try:
            process_stripe_event.delay(event["id"])
        except Exception:  # noqa: BLE001 - answered 503 so Stripe delivers it again
            log.exception("could not process stripe event %s now", event["id"])
            return jsonify({"type": "about:blank", "title": "Try again", "status": 503,
                            "detail": "The event is stored but could not be processed yet."}
                           ), 503, {"Content-Type": "application/problem+json"}
    return jsonify({"received": True})

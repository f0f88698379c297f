"""Console single sign-on: OpenID Connect through Authlib, agents matched by e-mail.

The provider (discovery URL, client id and secret) comes from settings; without them
the routes answer 404 and the sign-in page offers the password form alone. An agent
must already exist and be active: single sign-on never creates an account.
"""
from __future__ import annotations

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, abort, current_app, flash, url_for
from requests import RequestException

from core import audit, links
from core.agents import services as agents
from core.web.auth import sign_in
from core.web.db import db_session
from core.web.render import redirect_to

bp = Blueprint("sso", __name__)

PROVIDER = "oidc"
EXTENSION = "marketline.oidc"


@bp.record_once
def _register_provider(state) -> None:
    """Register the OpenID Connect client on each console app that has one configured."""
    settings = state.app.config["MARKETLINE"]
    if not settings.oidc_enabled:
        return
    oauth = OAuth(state.app)
    # Authlib 1.x sends PKCE only when asked to, so ask for S256 explicitly.
    state.app.extensions[EXTENSION] = oauth.register(
        PROVIDER,
        client_id=settings.OIDC_CLIENT_ID,
        client_secret=settings.OIDC_CLIENT_SECRET or None,
        server_metadata_url=settings.OIDC_DISCOVERY_URL,
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )


def _provider():
    client = current_app.extensions.get(EXTENSION)
    if client is None:
        abort(404)
    return client


class SignInRefused(Exception):
    """The provider's answer does not let anyone into the console; the message says why."""


@bp.get("/sso/login", endpoint="login")
def login():
    provider = _provider()
    try:
        # The redirect URI comes from CONSOLE_URL, never from this request's host.
        callback = links.sso_callback(current_app.config["MARKETLINE"])
        return provider.authorize_redirect(callback)
    except (AuthlibBaseError, RequestException, ValueError):
        current_app.logger.exception("single sign-on: the provider cannot be reached")
        return _back_to_sign_in("Single sign-on is unavailable just now. "
                                "Try again later or sign in with your password.")


@bp.get("/sso/callback", endpoint="callback")
def callback():
    provider = _provider()
    try:
        agent = _agent_for(_claims_from(provider))
    except SignInRefused as refusal:
        db_session.commit()  # keep the audit event of the refusal
        return _back_to_sign_in(str(refusal))
    sign_in(agent)
    audit.record(db_session, "agent.signed_in_sso", actor=agents.actor_for(agent),
                 channel="console", subject=agent, data={"email": agent.email})
    db_session.commit()
    return redirect_to(url_for("console.home"))


def _claims_from(provider) -> dict:
    """Exchange the code for tokens and read the person's claims from userinfo."""
    try:
        token = provider.authorize_access_token()
        # The ID token may carry only `sub`; e-mail and name come from userinfo, which
        # must speak of the same person (OpenID Connect Core 5.3.2).
        claims = dict(provider.userinfo(token=token))
        if "userinfo" in token and claims.get("sub") != token["userinfo"].get("sub"):
            raise SignInRefused("Single sign-on did not complete. Please try again.")
        return claims
    except AuthlibBaseError as err:
        current_app.logger.info("single sign-on refused by the provider: %s", err)
        if getattr(err, "error", "") == "access_denied":
            raise SignInRefused("Single sign-on was cancelled at the provider. "
                                "You are not signed in.") from err
        raise SignInRefused("Single sign-on did not complete. Please try again.") from err
    except (RequestException, ValueError) as err:
        current_app.logger.exception("single sign-on: talking to the provider failed")
        raise SignInRefused("Single sign-on is unavailable just now. "
                            "Try again later or sign in with your password.") from err


def _agent_for(claims: dict):
    """The active agent with the provider's e-mail; anyone else is refused and audited."""
    email = str(claims.get("email") or "").strip()
    if not email:
        raise SignInRefused("The single sign-on provider did not tell us your e-mail address, "
                            "so you cannot be signed in.")
    if claims.get("email_verified") is not True:
        _record_refusal(email, "email_not_verified")
        raise SignInRefused(f"The provider has not verified the e-mail address {email}, "
                            "so you cannot be signed in.")
    agent = agents.find_agent_by_email(db_session, email)
    if agent is None or not agent.active:
        _record_refusal(email, "unknown_email" if agent is None else "inactive")
        raise SignInRefused(f"No active console account uses the e-mail address {email}. "
                            "Ask an administrator to give you access.")
    return agent


def _record_refusal(email: str, reason: str) -> None:
    audit.record(db_session, "agent.sso_refused", actor=audit.Actor.anonymous(),
                 channel="console", data={"email": email, "reason": reason})


def _back_to_sign_in(message: str):
    flash(message, "error")
    return redirect_to(url_for("console.sign_in"))

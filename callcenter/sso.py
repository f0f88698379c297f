"""Console single sign-on: OpenID Connect through Authlib.

The provider (discovery URL, client id and secret) comes from settings; without them
the routes answer 404 and the sign-in page offers the password form alone. An agent
must already exist and be active: single sign-on never creates an account. The answer
must carry an ID token; the agent is the one bound to its issuer and subject, bound on
first use by verified e-mail (core.agents.sso).

Two-step sign-in: when the ID token's `amr` says the provider itself used more than one
factor ("mfa", RFC 8176), that counts and no code is asked; otherwise the agent goes
through the same second step (or enrolment) as after a password.
"""
from __future__ import annotations

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, abort, current_app, flash, url_for
from requests import RequestException

from core import audit, links
from core.agents import mfa
from core.agents import services as agents
from core.agents.sso import SsoRefused, agent_for_identity
from core.web.db import db_session
from core.web.render import redirect_to
from callcenter import two_step

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
        claims = _claims_from(provider)
        agent = agent_for_identity(db_session, issuer=claims["iss"], subject=claims["sub"],
                                   email=str(claims.get("email") or "").strip(),
                                   email_verified=claims.get("email_verified"))
    except (SignInRefused, SsoRefused) as refusal:
        db_session.commit()  # keep the audit event of the refusal
        return _back_to_sign_in(str(refusal))
    idp_mfa = mfa.idp_did_mfa(claims.get("amr"))
    audit.record(db_session, "agent.signed_in_sso", actor=agents.actor_for(agent),
                 channel="console", subject=agent,
                 data={"email": agent.email, "idp_mfa": idp_mfa})
    return two_step.after_first_step(agent, via="sso", idp_mfa=idp_mfa)


def _claims_from(provider) -> dict:
    """Exchange the code for tokens; the person is the ID token's issuer and subject, with
    e-mail and name from userinfo, and `amr` from the ID token."""
    try:
        token = provider.authorize_access_token()
        # Authlib has checked the ID token (signature, iss, aud, exp, nonce) and put its
        # claims under "userinfo". Without one there is no subject to trust: refuse.
        id_claims = token.get("userinfo") if token.get("id_token") else None
        if not id_claims or not id_claims.get("sub") or not id_claims.get("iss"):
            _record_refusal("", "no_id_token")
            raise SignInRefused("Single sign-on did not complete. Please try again.")
        # The ID token may carry only `sub`; e-mail and name come from userinfo, which
        # must speak of the same person (OpenID Connect Core 5.3.2).
        claims = dict(provider.userinfo(token=token))
        if claims.get("sub") != id_claims["sub"]:
            raise SignInRefused("Single sign-on did not complete. Please try again.")
        return claims | {"iss": id_claims["iss"], "sub": id_claims["sub"],
                         "amr": id_claims.get("amr")}
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


def _record_refusal(email: str, reason: str) -> None:
    audit.record(db_session, "agent.sso_refused", actor=audit.Actor.anonymous(),
                 channel="console", data={"email": email, "reason": reason})


def _back_to_sign_in(message: str):
    flash(message, "error")
    return redirect_to(url_for("console.sign_in"))

"""Company accounts in core (core.customers.company): the invitation's lifecycle (expiry,
reuse, resending), roles and limits, the last-admin rule, deactivation ending sessions, who
may, the address book, the profile and the e-mail change (incl. an address taken meanwhile)."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from core import audit, events
from core.audit import AuditEvent
from core.auth import services as auth
from core.auth.models import LoginSession
from core.auth.passwords import WeakPassword
from core.customers import company
from core.customers.errors import InvalidInput, InvalidResetLink, WrongPassword
from core.customers.models import BuyerInvitation, CustomerAddress, CustomerUser, EmailChange
from core.db import utcnow
from tests import factories

LIFETIME = dt.timedelta(hours=1)
AGENT = company.ConsoleAgent(audit.Actor("agent", 1, "agent@test.example"), frozenset({"agent"}))
ADDRESS = {"full_name": "Goods In", "company": "Beans Ltd", "line1": "Hafenstraße 1",
           "city": "Hamburg", "postal_code": "20457", "country": "DE"}


@pytest.fixture
def beans(db):
    customer = factories.CustomerFactory(kind="company", name="Beans Ltd", email="office@beans.example")
    admin = factories.CustomerUserFactory(customer=customer, email="ada@beans.example",
                                          full_name="Ada Beans", role="admin")
    buyer = factories.CustomerUserFactory(customer=customer, email="bob@beans.example",
                                          full_name="Bob Beans", role="buyer")
    approver = factories.CustomerUserFactory(customer=customer, email="abe@beans.example",
                                             full_name="Abe Beans", role="approver")
    db.flush()
    return customer, admin, buyer, approver


def invite(db, customer, actor, email="nina@beans.example", **kw):
    kw.setdefault("role", "buyer")
    return company.invite_buyer(db, customer, email=email, full_name="Nina New", actor=actor,
                                **kw)


def login(db, email) -> CustomerUser:
    return db.scalar(select(CustomerUser).where(CustomerUser.email == email))


def actions(db, action):
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def sessions_of(db, user) -> int:
    return db.scalar(select(func.count()).select_from(LoginSession).where(
        LoginSession.realm == "customer", LoginSession.user_id == user.id))


# -- invitations --------------------------------------------------------------------------------

def test_an_invitation_makes_a_login_that_cannot_sign_in_and_records_the_mail(db, beans):
    customer, admin, _, _ = beans
    token = invite(db, customer, admin, email=" Nina@Beans.example ", order_limit="250.00",
                   monthly_limit=Decimal("1000"))
    nina = login(db, "nina@beans.example")
    assert nina.customer_id == customer.id and nina.role == "buyer"
    assert nina.password_hash == "" and nina.email_confirmed_at is None
    assert nina.order_limit == Decimal("250.00") and nina.monthly_limit == Decimal("1000.00")
    assert company.status(nina) == "invited"
    mail = [e for e in events.pending(db) if isinstance(e, events.BuyerInvited)]
    assert mail and mail[-1].token == token and mail[-1].email == "nina@beans.example"
    assert mail[-1].company == "Beans Ltd" and mail[-1].days == company.INVITATION_DAYS
    stored = db.scalar(select(BuyerInvitation).where(BuyerInvitation.user_id == nina.id))
    assert stored.token_hash != token and len(stored.token_hash) == 64
    assert stored.expires_at - utcnow() > dt.timedelta(days=company.INVITATION_DAYS - 1)
    assert actions(db, "customer.buyer_invited")[-1].data["email"] == "nina@beans.example"
    with pytest.raises(auth.BadCredentials):
        auth.sign_in(db, realm="customer", user=nina, email=nina.email, password="",
                     remote_addr="10.0.0.1", limit=100)


def test_an_address_that_has_a_login_is_refused_at_the_field(db, beans):
    customer, admin, _, _ = beans
    factories.CustomerUserFactory(email="taken@elsewhere.example")
    with pytest.raises(company.AddressHasLogin) as err:
        invite(db, customer, admin, email="TAKEN@elsewhere.example")
    assert err.value.field == "email"


@pytest.mark.parametrize("field, kw, message", [
    ("role", {"role": "owner"}, "Choose buyer"),
    ("order_limit", {"order_limit": "-1"}, "0 or more"),
    ("monthly_limit", {"monthly_limit": "abc"}, "Enter an amount"),
    ("order_limit", {"order_limit": "1.005"}, "cents"),
    ("order_limit", {"order_limit": "NaN"}, "0 or more"),
])
def test_bad_invitation_input_is_refused_at_its_field(db, beans, field, kw, message):
    customer, admin, _, _ = beans
    with pytest.raises(InvalidInput) as err:
        invite(db, customer, admin, **kw)
    assert err.value.field == field and message in str(err.value)
    assert login(db, "nina@beans.example") is None


def test_accepting_sets_the_password_confirms_the_address_and_spends_the_link(db, beans):
    customer, admin, _, _ = beans
    token = invite(db, customer, admin)
    nina = company.accept_invitation(db, token, "spring-meadow-42")
    assert nina.email_confirmed_at is not None and company.status(nina) == "active"
    assert auth.sign_in(db, realm="customer", user=nina, email=nina.email,
                        password="spring-meadow-42", remote_addr="10.0.0.2", limit=100) is nina
    with pytest.raises(company.InvalidInvitation):  # used
        company.accept_invitation(db, token, "another-pass-77")
    with pytest.raises(company.InvalidInvitation):
        company.valid_invitation(db, token)
    assert actions(db, "customer.invitation_accepted")


def test_accepting_follows_the_password_rules_and_keeps_the_link_open(db, beans):
    customer, admin, _, _ = beans
    token = invite(db, customer, admin)
    with pytest.raises(WeakPassword):
        company.accept_invitation(db, token, "password")
    with pytest.raises(WeakPassword):  # built from the name
        company.accept_invitation(db, token, "nina-new")
    assert company.valid_invitation(db, token).email == "nina@beans.example"


def test_an_expired_invitation_is_refused(db, beans):
    customer, admin, _, _ = beans
    token = invite(db, customer, admin)
    nina = login(db, "nina@beans.example")
    db.execute(update(BuyerInvitation).where(BuyerInvitation.user_id == nina.id)
               .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    with pytest.raises(company.InvalidInvitation):
        company.accept_invitation(db, token, "spring-meadow-42")
    assert company.status(login(db, "nina@beans.example")) == "invited"


def test_resending_makes_a_new_link_and_spends_the_old_one(db, beans):
    customer, admin, _, _ = beans
    old = invite(db, customer, admin)
    nina = login(db, "nina@beans.example")
    new = company.resend_invitation(db, customer, nina.id, actor=AGENT)
    assert new != old
    with pytest.raises(company.InvalidInvitation):
        company.valid_invitation(db, old)
    assert company.accept_invitation(db, new, "spring-meadow-42").id == nina.id
    with pytest.raises(InvalidInput, match="already accepted"):
        company.resend_invitation(db, customer, nina.id, actor=admin)


def test_a_deactivated_invitee_cannot_accept(db, beans):
    customer, admin, _, _ = beans
    token = invite(db, customer, admin)
    nina = login(db, "nina@beans.example")
    company.deactivate_buyer(db, customer, nina.id, actor=admin)
    with pytest.raises(company.InvalidInvitation):
        company.accept_invitation(db, token, "spring-meadow-42")


# -- who may ------------------------------------------------------------------------------------

def test_only_the_companys_admins_and_console_agents_manage_buyers(db, beans):
    customer, admin, buyer, approver = beans
    other = factories.CustomerFactory(kind="company", name="Globex Test")
    other_admin = factories.CustomerUserFactory(customer=other, email="root@globex.test",
                                                role="admin")
    for who in (buyer, approver, other_admin,
                company.ConsoleAgent(audit.Actor("agent", 2, "cat"), frozenset({"catalog"})),
                company.ConsoleAgent(audit.Actor("agent", 3, "cr"), frozenset({"credit"}))):
        with pytest.raises(company.NotAllowed):
            invite(db, customer, who)
        with pytest.raises(company.NotAllowed):
            company.change_role(db, customer, buyer.id, "admin", actor=who)
        with pytest.raises(company.NotAllowed):
            company.set_limits(db, customer, buyer.id, order_limit="1", monthly_limit=None,
                               actor=who)
    assert buyer.role == "buyer"
    invite(db, customer, AGENT)
    invite(db, customer, company.ConsoleAgent(audit.Actor("agent", 4, "sv"),
                                              frozenset({"supervisor"})), email="n2@beans.example")


def test_a_person_has_no_buyers_but_keeps_their_own_address_book(db):
    person = factories.CustomerUserFactory(email="pia@person.example")
    with pytest.raises(company.NotAllowed):
        invite(db, person.customer, AGENT)
    address = company.add_address(db, person.customer, ADDRESS, actor=person)
    assert address.default_shipping and address.default_billing


# -- roles, limits, last admin -----------------------------------------------------------------

def test_role_and_limits_change_and_are_audited(db, beans):
    customer, admin, buyer, _ = beans
    company.change_role(db, customer, buyer.id, "approver", actor=admin)
    company.set_limits(db, customer, buyer.id, order_limit="500", monthly_limit="", actor=AGENT)
    assert buyer.role == "approver" and buyer.order_limit == Decimal("500.00")
    assert buyer.monthly_limit is None
    changed = actions(db, "customer.buyer_role_changed")[-1]
    assert changed.data == {"user_id": buyer.id, "email": buyer.email, "from": "buyer",
                            "to": "approver"} and changed.channel == "web"
    limits = actions(db, "customer.buyer_limits_changed")[-1]
    assert limits.channel == "console" and limits.data["to"]["order_limit"] == "500.00"


def test_the_last_admin_cannot_demote_or_deactivate_themselves(db, beans):
    customer, admin, buyer, _ = beans
    with pytest.raises(company.LastAdmin):
        company.change_role(db, customer, admin.id, "buyer", actor=admin)
    with pytest.raises(company.LastAdmin):
        company.deactivate_buyer(db, customer, admin.id, actor=admin)
    with pytest.raises(company.LastAdmin):  # nor may an agent
        company.deactivate_buyer(db, customer, admin.id, actor=AGENT)
    assert admin.role == "admin" and admin.active


def test_an_invited_admin_does_not_count_until_they_accept(db, beans):
    customer, admin, _, _ = beans
    token = invite(db, customer, admin, role="admin")
    with pytest.raises(company.LastAdmin):
        company.change_role(db, customer, admin.id, "buyer", actor=admin)
    company.accept_invitation(db, token, "spring-meadow-42")
    company.change_role(db, customer, admin.id, "buyer", actor=admin)
    assert admin.role == "buyer"


def test_with_two_admins_one_may_step_down(db, beans):
    customer, admin, buyer, _ = beans
    company.change_role(db, customer, buyer.id, "admin", actor=admin)
    company.deactivate_buyer(db, customer, admin.id, actor=admin)
    assert not admin.active
    with pytest.raises(company.LastAdmin):
        company.change_role(db, customer, buyer.id, "approver", actor=AGENT)


def test_deactivating_ends_every_session_and_reactivating_lets_them_back(db, beans):
    customer, admin, buyer, _ = beans
    for _ in range(2):
        auth.start_session(db, realm="customer", user_id=buyer.id, lifetime=LIFETIME)
    db.flush()
    company.deactivate_buyer(db, customer, buyer.id, actor=admin)
    assert sessions_of(db, buyer) == 0 and company.status(buyer) == "deactivated"
    with pytest.raises(auth.BadCredentials):
        auth.sign_in(db, realm="customer", user=buyer, email=buyer.email,
                     password=factories.PASSWORD, remote_addr="10.0.0.3", limit=100)
    company.reactivate_buyer(db, customer, buyer.id, actor=admin)
    assert auth.sign_in(db, realm="customer", user=buyer, email=buyer.email,
                        password=factories.PASSWORD, remote_addr="10.0.0.3", limit=100) is buyer
    assert actions(db, "customer.buyer_deactivated") and actions(db, "customer.buyer_reactivated")


def test_another_companys_login_is_not_found(db, beans):
    customer, admin, _, _ = beans
    stranger = factories.CustomerUserFactory(email="x@stranger.example")
    with pytest.raises(company.NotFound):
        company.deactivate_buyer(db, customer, stranger.id, actor=admin)
    assert stranger.active


# -- the address book ---------------------------------------------------------------------------

def test_the_address_book_keeps_one_default_each_and_passes_it_on(db, beans):
    customer, admin, buyer, _ = beans
    first = company.add_address(db, customer, ADDRESS, label="Head office", actor=admin)
    second = company.add_address(db, customer, {**ADDRESS, "line1": "Kai 2",
                                                "postal_code": "20459"},
                                 label="Warehouse", actor=AGENT)
    assert first.default_shipping and first.default_billing
    assert not second.default_shipping and not second.default_billing
    company.make_default(db, customer, second.id, kind="shipping", actor=admin)
    db.refresh(first)
    assert second.default_shipping and not first.default_shipping and first.default_billing
    assert customer.postal_code == "20459"
    company.make_default(db, customer, second.id, kind="billing", actor=admin)
    db.refresh(first)
    assert second.default_billing and not first.default_billing
    company.delete_address(db, customer, second.id, actor=admin)
    db.refresh(first)
    assert first.default_shipping and first.default_billing
    with pytest.raises(company.NotAllowed):
        company.add_address(db, customer, ADDRESS, actor=buyer)
    with pytest.raises(InvalidInput) as err:
        company.edit_address(db, customer, first.id, {**ADDRESS, "postal_code": "1"},
                             actor=admin)
    assert err.value.field == "postal_code"
    assert {e.action for e in db.scalars(select(AuditEvent).where(
        AuditEvent.action.like("customer.address_%")))} >= {
        "customer.address_added", "customer.address_default_shipping",
        "customer.address_default_billing", "customer.address_deleted"}


def test_another_customers_address_is_not_found(db, beans):
    customer, admin, _, _ = beans
    elsewhere = factories.CustomerUserFactory(email="y@stranger.example")
    theirs = company.add_address(db, elsewhere.customer, ADDRESS, actor=elsewhere)
    with pytest.raises(company.NotFound):
        company.delete_address(db, customer, theirs.id, actor=admin)
    assert db.get(CustomerAddress, theirs.id) is not None


# -- profile and e-mail change ------------------------------------------------------------------

def test_the_profile_changes_name_and_phone_and_a_persons_customer_follows(db):
    pia = factories.CustomerUserFactory(email="pia@person.example")
    company.update_profile(db, pia, full_name="  Pia   Person ", phone="+49 30 1234 5678")
    assert pia.full_name == "Pia Person" and pia.customer.name == "Pia Person"
    assert pia.customer.phone_digits == "493012345678"
    with pytest.raises(InvalidInput) as err:
        company.update_profile(db, pia, full_name="Pia", phone="call me")
    assert err.value.field == "phone"


def change(db, user, new_email, password=factories.PASSWORD):
    return company.request_email_change(db, user, new_email=new_email,
                                        current_password=password, remote_addr="10.0.0.9",
                                        limit=100)


def test_an_email_change_needs_the_password_and_a_link_to_the_new_address(db):
    pia = factories.CustomerUserFactory(email="pia@person.example",
                                        customer__email="pia@person.example")
    with pytest.raises(WrongPassword):
        change(db, pia, "pia@new.example", password="wrong-password")
    token = change(db, pia, "Pia@New.example")
    assert pia.email == "pia@person.example"  # nothing changes until the link is followed
    sent = [e for e in events.pending(db) if isinstance(e, events.EmailChangeRequested)][-1]
    assert (sent.old_email, sent.new_email, sent.token) == ("pia@person.example",
                                                            "pia@new.example", token)
    user = company.confirm_email_change(db, token)
    assert user.email == "pia@new.example" and user.customer.email == "pia@new.example"
    assert any(isinstance(e, events.EmailChanged) for e in events.pending(db))
    with pytest.raises(company.InvalidEmailChange):
        company.confirm_email_change(db, token)


def test_an_email_change_to_a_taken_address_is_refused_then_and_later(db):
    pia = factories.CustomerUserFactory(email="pia@person.example")
    factories.CustomerUserFactory(email="taken@person.example")
    with pytest.raises(company.AddressHasLogin) as err:
        change(db, pia, "taken@person.example")
    assert err.value.field == "new_email"
    token = change(db, pia, "later@person.example")
    factories.CustomerUserFactory(email="later@person.example")  # taken meanwhile
    db.flush()
    with pytest.raises(company.InvalidEmailChange, match="has a login here by now"):
        company.confirm_email_change(db, token)
    assert pia.email == "pia@person.example"


def test_a_newer_email_change_spends_the_older_link_and_links_expire(db):
    pia = factories.CustomerUserFactory(email="pia@person.example")
    old = change(db, pia, "one@person.example")
    new = change(db, pia, "two@person.example")
    with pytest.raises(company.InvalidEmailChange):
        company.valid_email_change(db, old)
    db.execute(update(EmailChange).where(EmailChange.user_id == pia.id)
               .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    with pytest.raises(company.InvalidEmailChange):
        company.confirm_email_change(db, new)
    with pytest.raises(InvalidInput) as err:
        change(db, pia, "pia@person.example")
    assert err.value.field == "new_email"


def test_a_confirmed_email_change_spends_links_sent_to_the_old_address_and_ends_sessions(db):
    """Whoever reads the old mailbox keeps nothing: a reset link mailed there before the
    change no longer works, and every session of the login ends (review finding 8)."""
    from core.auth.models import LoginSession
    from core.customers import services as customers
    pia = factories.CustomerUserFactory(email="pia@person.example")
    _, reset = customers.request_password_reset(db, "pia@person.example")
    db.add(LoginSession(id="pia-elsewhere", realm="customer", user_id=pia.id,
                        expires_at=utcnow() + dt.timedelta(hours=1)))
    db.flush()
    company.confirm_email_change(db, change(db, pia, "pia@new.example"))
    with pytest.raises(InvalidResetLink):
        customers.valid_reset(db, reset)
    assert db.get(LoginSession, "pia-elsewhere") is None

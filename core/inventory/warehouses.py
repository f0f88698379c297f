"""Warehouses as master data, and the warehouses each channel sources from, in order of
preference (core.inventory.services.warehouses_for reads them)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from core import audit
from core.catalog.models import Channel
from core.errors import InvalidInput
from core.inventory.models import ChannelWarehouse, ExpectedArrival, StockLevel, Warehouse
from core.inventory.states import ArrivalStatus

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
ADDRESS_KEYS = ("line1", "line2", "postcode", "city", "country")


@dataclass
class WarehouseData:
    code: str
    name: str
    address: dict[str, str] = field(default_factory=dict)
    position: int = 0
    active: bool = True


def check_code(raw: str | None, noun: str) -> str:
    code = (raw or "").strip().upper()
    if not code:
        raise InvalidInput(f"Enter the {noun}'s code.", field="code")
    if not CODE.match(code):
        raise InvalidInput("A code has up to 20 capital letters, digits, - and _, like MAIN.",
                           field="code")
    return code


def check_name(raw: str | None, noun: str, max_length: int = 100) -> str:
    name = (raw or "").strip()
    if not name:
        raise InvalidInput(f"Enter the {noun}'s name.", field="name")
    if len(name) > max_length:
        raise InvalidInput(f"The name can have at most {max_length} characters.", field="name")
    return name


def check_address(raw: dict[str, str]) -> dict[str, str]:
    address = {k: (raw.get(k) or "").strip()[:200] for k in ADDRESS_KEYS}
    address["country"] = address["country"].upper()
    if address["country"] and not re.fullmatch(r"[A-Z]{2}", address["country"]):
        raise InvalidInput("The country is a two-letter code, like DE.", field="country")
    return {k: v for k, v in address.items() if v}


def _record(session: Session, action: str, actor: audit.Actor, subject, data: dict) -> None:
    audit.record(session, action, actor=actor, channel="console", subject=subject, data=data)


def warehouses(session: Session) -> list[Warehouse]:
    """Every warehouse by position and code: one query."""
    return list(session.scalars(select(Warehouse).order_by(Warehouse.position, Warehouse.code)))


def _values(session: Session, data: WarehouseData, warehouse: Warehouse | None) -> dict:
    code = check_code(data.code, "warehouse")
    if warehouse is not None and code != warehouse.code:
        # Stock levels and movements name their warehouse by code: renaming it would orphan them.
        raise InvalidInput("A warehouse's code cannot change once it exists; change its name.",
                           field="code")
    clash = session.scalar(select(Warehouse.id).where(Warehouse.code == code))
    if clash is not None and (warehouse is None or clash != warehouse.id):
        raise InvalidInput(f"Warehouse {code} already exists.", field="code")
    if not 0 <= (data.position or 0) <= 1000:
        raise InvalidInput("The position is 0 to 1000.", field="position")
    return dict(code=code, name=check_name(data.name, "warehouse"),
                address=check_address(data.address), position=data.position or 0,
                active=bool(data.active))


def create_warehouse(session: Session, data: WarehouseData, *, actor: audit.Actor) -> Warehouse:
    warehouse = Warehouse(**_values(session, data, None))
    session.add(warehouse)
    session.flush()
    _record(session, "warehouse.created", actor, warehouse, {"code": warehouse.code})
    return warehouse


def _check_empty(session: Session, warehouse: Warehouse) -> None:
    """A warehouse is deactivated only once nothing is there or on its way there: no units
    on hand, reserved or backordered, no open expected arrival. Two queries."""
    on_hand, reserved, backordered = session.execute(
        select(func.coalesce(func.sum(StockLevel.on_hand), 0),
               func.coalesce(func.sum(StockLevel.reserved), 0),
               func.coalesce(func.sum(StockLevel.backordered), 0))
        .where(StockLevel.warehouse == warehouse.code)).one()
    held = [f"{n} {what}" for n, what in ((on_hand, "on hand"), (reserved, "reserved"),
                                          (backordered, "backordered")) if n > 0]
    if held:
        raise InvalidInput(f"{warehouse.code} still has units ({', '.join(held)}). Ship, "
                           "transfer or count them out first; then deactivate it.",
                           field="active")
    arrivals = session.scalar(select(func.count()).select_from(ExpectedArrival).where(
        ExpectedArrival.warehouse == warehouse.code,
        ExpectedArrival.status == ArrivalStatus.OPEN))
    if arrivals:
        raise InvalidInput(f"{arrivals} expected arrival{'s' if arrivals != 1 else ''} "
                           f"{'are' if arrivals != 1 else 'is'} still due at {warehouse.code}. "
                           "Receive or cancel them first; then deactivate it.", field="active")


def update_warehouse(session: Session, warehouse: Warehouse, data: WarehouseData, *,
                     actor: audit.Actor) -> Warehouse:
    """Change a warehouse; deactivating it is refused while it holds or awaits stock."""
    values = _values(session, data, warehouse)
    if warehouse.active and not values["active"]:
        _check_empty(session, warehouse)
    changed = {k: v for k, v in values.items() if getattr(warehouse, k) != v}
    for k, v in changed.items():
        setattr(warehouse, k, v)
    session.flush()
    if changed:
        _record(session, "warehouse.updated", actor, warehouse,
                {"code": warehouse.code, "changed": sorted(changed)})
    return warehouse


# --- a channel's warehouses -----------------------------------------------------------------


def channels(session: Session) -> list[Channel]:
    """Every channel by code: one query."""
    return list(session.scalars(select(Channel).order_by(Channel.code)))


def channel_warehouses(session: Session) -> dict[int, list[ChannelWarehouse]]:
    """Each channel's warehouses in order of preference: one query for all channels."""
    by_channel: dict[int, list[ChannelWarehouse]] = {}
    for link in session.scalars(select(ChannelWarehouse).options(
            joinedload(ChannelWarehouse.warehouse))
            .order_by(ChannelWarehouse.channel_id, ChannelWarehouse.position,
                      ChannelWarehouse.id)):
        by_channel.setdefault(link.channel_id, []).append(link)
    return by_channel


def _links(session: Session, channel_id: int) -> list[ChannelWarehouse]:
    return list(session.scalars(select(ChannelWarehouse)
                                .where(ChannelWarehouse.channel_id == channel_id)
                                .order_by(ChannelWarehouse.position, ChannelWarehouse.id)))


def add_channel_warehouse(session: Session, channel: Channel, warehouse_id: int | None, *,
                          actor: audit.Actor) -> ChannelWarehouse:
    """Source the channel from a warehouse too, after those it prefers already."""
    warehouse = session.get(Warehouse, warehouse_id) if warehouse_id else None
    if warehouse is None:
        raise InvalidInput("Choose a warehouse.", field="warehouse_id")
    links = _links(session, channel.id)
    if any(link.warehouse_id == warehouse.id for link in links):
        raise InvalidInput(f"{channel.name} already sources from {warehouse.code}.",
                           field="warehouse_id")
    position = session.scalar(select(func.coalesce(func.max(ChannelWarehouse.position), -1))
                              .where(ChannelWarehouse.channel_id == channel.id)) + 1
    link = ChannelWarehouse(channel_id=channel.id, warehouse_id=warehouse.id, position=position)
    session.add(link)
    session.flush()
    _record(session, "channel.warehouse_added", actor, channel, {"warehouse": warehouse.code})
    return link


def remove_channel_warehouse(session: Session, link: ChannelWarehouse, *,
                             actor: audit.Actor) -> None:
    _record(session, "channel.warehouse_removed", actor, link,
            {"channel_id": link.channel_id, "warehouse": link.warehouse.code})
    session.delete(link)
    session.flush()


def move_channel_warehouse(session: Session, link: ChannelWarehouse, direction: str, *,
                           actor: audit.Actor) -> None:
    """Prefer a warehouse before ("up") or after ("down") its neighbour."""
    links = _links(session, link.channel_id)
    i = links.index(link)
    j = i - 1 if direction == "up" else i + 1
    if direction in ("up", "down") and 0 <= j < len(links):
        links[i], links[j] = links[j], links[i]
        for n, each in enumerate(links):
            each.position = n
        session.flush()
        _record(session, "channel.warehouse_moved", actor, link,
                {"channel_id": link.channel_id, "warehouse": link.warehouse.code,
                 "direction": direction})

"""The carriers the warehouse hands parcels to, and where a customer follows a parcel.

A tracking link is the carrier's URL template % the tracking number. Tracking numbers
are kept to letters, digits and hyphens (see services.normalise_tracking_number), so
the number cannot change the link's meaning; it is URL-quoted all the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    tracking_url: str = ""  # "%s" stands for the tracking number; "" when it does not track

    @property
    def tracks(self) -> bool:
        return bool(self.tracking_url)


CARRIERS: dict[str, Carrier] = {c.code: c for c in (
    Carrier("dhl", "DHL",
            "https://www.dhl.com/de-en/home/tracking/tracking-parcel.html"
            "?submit=1&tracking-id=%s"),
    Carrier("ups", "UPS", "https://www.ups.com/track?loc=en_US&tracknum=%s"),
    Carrier("dpd", "DPD", "https://tracking.dpd.de/status/en_US/parcel/%s"),
    Carrier("gls", "GLS", "https://gls-group.com/DE/en/parcel-tracking?match=%s"),
    Carrier("postnl", "PostNL", "https://jouw.postnl.nl/track-and-trace/%s"),
    Carrier("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr=%s"),
    Carrier("own", "Our own delivery van"),  # no tracking number
)}


def get(code: str) -> Carrier | None:
    return CARRIERS.get(code)


def name(code: str) -> str:
    """The carrier's name as people say it; the code itself for one no longer listed."""
    carrier = CARRIERS.get(code)
    return carrier.name if carrier else code


def tracking_link(code: str, tracking_number: str) -> str | None:
    """Where the parcel can be followed; None for a carrier that does not track."""
    carrier = CARRIERS.get(code)
    if carrier is None or not carrier.tracks or not tracking_number:
        return None
    return carrier.tracking_url % quote(tracking_number, safe="")

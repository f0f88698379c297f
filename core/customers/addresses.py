"""Postal addresses: the countries we ship to, their regions, and validation."""
from __future__ import annotations

import re

from core.customers.errors import InvalidInput

COUNTRIES = {"DE": "Germany", "AT": "Austria", "FR": "France"}
REGIONS = {
    "DE": {"BW": "Baden-Württemberg", "BY": "Bavaria", "BE": "Berlin", "BB": "Brandenburg",
           "HB": "Bremen", "HH": "Hamburg", "HE": "Hesse", "MV": "Mecklenburg-Vorpommern",
           "NI": "Lower Saxony", "NW": "North Rhine-Westphalia", "RP": "Rhineland-Palatinate",
           "SL": "Saarland", "SN": "Saxony", "ST": "Saxony-Anhalt", "SH": "Schleswig-Holstein",
           "TH": "Thuringia"},
    "AT": {"1": "Burgenland", "2": "Carinthia", "3": "Lower Austria", "4": "Upper Austria",
           "5": "Salzburg", "6": "Styria", "7": "Tyrol", "8": "Vorarlberg", "9": "Vienna"},
    "FR": {},
}
POSTCODES = {"DE": (r"\d{5}", "five digits, like 10115"),
             "AT": (r"\d{4}", "four digits, like 1010"),
             "FR": (r"\d{5}", "five digits, like 75001")}
FIELDS = ("full_name", "company", "line1", "line2", "city", "postal_code", "region", "country",
          "phone")


def validate_address(raw: dict[str, str]) -> dict[str, str]:
    """A clean address, or InvalidInput naming the first wrong field."""
    address = {k: (raw.get(k) or "").strip()[:200] for k in FIELDS}
    required = [("full_name", "Enter the recipient's full name."),
                ("line1", "Enter the street and house number."),
                ("city", "Enter the city."), ("postal_code", "Enter the postal code."),
                ("country", "Choose a country.")]
    for field, message in required:
        if not address[field]:
            raise InvalidInput(message, field=field)
    country = address["country"].upper()
    if country not in COUNTRIES:
        raise InvalidInput("We ship to Germany, Austria and France.", field="country")
    address["country"] = country
    pattern, example = POSTCODES[country]
    postal = re.sub(r"\s+", "", address["postal_code"]).upper()
    if not re.fullmatch(pattern, postal):
        raise InvalidInput(f"A postal code in {COUNTRIES[country]} has {example}.",
                           field="postal_code")
    address["postal_code"] = postal
    regions = REGIONS[country]
    if address["region"] and address["region"] not in regions:
        raise InvalidInput(f"Choose a region of {COUNTRIES[country]}.", field="region")
    return address


def one_line(address: dict[str, str]) -> str:
    parts = [address.get("full_name"), address.get("company"), address.get("line1"),
             address.get("line2"), f"{address.get('postal_code', '')} {address.get('city', '')}".strip(),
             COUNTRIES.get(address.get("country", ""), address.get("country"))]
    return ", ".join(p for p in parts if p)

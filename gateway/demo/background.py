"""The agencies' ordinary records, among which the planted network hides: customs shipments,
police case persons, intel watch entries, and each agency's seizures for aggregates.

Rows come back as ``(date, row)`` pairs without their record ids; ``gateway.demo.data`` mixes
them with the planted rows, sorts by date and numbers them. Every identifier goes through a
``Clerk``, so each one is either valid or one of the intended slips.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from connectors.vocabulary import canonicalise_person
from gateway.demo import identifiers as ids
from gateway.demo import personal_ids as pids
from gateway.demo.clerk import Clerk
from gateway.demo.people import Person, draw_person, random_date, slip_date, written_name

PORTS = (
    "Rotterdam", "Antwerp", "Hamburg", "Le Havre", "Algeciras", "Piraeus", "Gdansk", "Valencia",
)  # fmt: skip
_PORT_WEIGHTS = (34, 22, 14, 8, 7, 5, 5, 5)
SEIZED_COMMODITIES = (
    "cocaine", "heroin", "cannabis", "synthetic drugs", "cigarettes", "counterfeit goods",
    "weapons",
)  # fmt: skip
# Declared goods with a plausible value range per container in EUR.
_GOODS = {
    "bananas": (14_000, 32_000), "electronics": (60_000, 900_000), "textiles": (25_000, 180_000),
    "machinery": (40_000, 650_000), "frozen fish": (18_000, 95_000), "coffee": (45_000, 160_000),
    "cocoa beans": (50_000, 210_000), "furniture": (12_000, 70_000),
    "auto parts": (30_000, 240_000), "toys": (15_000, 90_000), "pineapples": (12_000, 30_000),
    "cut flowers": (8_000, 45_000), "footwear": (35_000, 200_000),
}  # fmt: skip
_COMPANY_PLACES = (
    "Rhine Delta", "North Sea", "Maas", "Anatolia", "Iberia", "Adriatic", "Atlas", "Orient",
    "Harbour", "Nordic", "Meridian", "Zeeland", "Hanseatic", "Aegean", "Vistula", "Tagus",
    "Sahara", "Andes", "Mekong", "Lagos", "Pearl River", "Caspian", "Scheldt", "Brabant",
)  # fmt: skip
_COMPANY_TRADES = (
    "Trading", "Logistics", "Import", "Foods", "Fresh", "Shipping", "Distribution",
    "Commodities", "Supply", "Textiles", "Electronics", "Fruit", "Forwarding",
)  # fmt: skip
_LEGAL_FORMS = {
    "NL": "B.V.", "BE": "BV", "GB": "Ltd", "CY": "Ltd", "MT": "Ltd", "PL": "Sp. z o.o.",
    "AE": "FZE",
}  # fmt: skip
_CAR_MAKES = (
    "Volkswagen Golf", "BMW X5", "Mercedes-Benz Sprinter", "Audi A6", "Toyota Corolla",
    "Ford Transit", "Renault Clio", "Peugeot 308", "Škoda Octavia", "Kia Ceed", "Range Rover",
)  # fmt: skip
_OFFENCES = (
    "drug trafficking", "money laundering", "burglary", "fraud", "human smuggling",
    "firearms", "assault", "extortion", "cigarette smuggling", "theft from containers",
)  # fmt: skip
_ALPHA3 = {
    "NL": "NLD", "BE": "BEL", "GB": "GBR", "CY": "CYP", "MT": "MLT", "PL": "POL", "AE": "ARE",
}  # fmt: skip

_LAST_DAY = date(2025, 10, 31)  # the demo data stops at the end of October 2025
ADULTS = (date(1950, 1, 1), date(2006, 12, 31))
MINORS = (date(2009, 1, 1), date(2014, 12, 31))


def _fresh_person(clerk: Clerk, born: tuple[date, date]) -> Person:
    while True:
        person = draw_person(clerk.rng, born_from=born[0], born_to=born[1])
        canonical = canonicalise_person(person.natural_name(), person.born.isoformat())
        if ("person", canonical) not in clerk.reserved:
            return person


def _phone_region(rng: random.Random, home_share: float, foreign: str) -> str:
    if foreign in pids.PHONE_REGIONS and rng.random() > home_share:
        return foreign
    return "NL"


# --- customs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Consignee:
    name: str
    company: str
    phone: str
    contact: Person | None
    weight: float


def _consignee(clerk: Clerk) -> _Consignee:
    rng = clerk.rng
    company = clerk.fresh("company", lambda: ids.draw_company(rng))
    country = company.split(":")[0]
    name = f"{rng.choice(_COMPANY_PLACES)} {rng.choice(_COMPANY_TRADES)} {_LEGAL_FORMS[country]}"
    region = country if country in pids.PHONE_REGIONS else "NL"
    mobile = rng.random() < 0.4
    phone = clerk.fresh("phone", lambda: pids.draw_phone(rng, region, mobile=mobile))
    contact = _fresh_person(clerk, ADULTS) if rng.random() < 0.3 else None
    return _Consignee(name, company, phone, contact, rng.paretovariate(1.3))


def customs_shipments(clerk: Clerk, count: int) -> list[tuple[date, dict[str, str]]]:
    rng = clerk.rng
    consignees = [_consignee(clerk) for _ in range(380)]
    vessels = [clerk.fresh("vessel", lambda: ids.draw_vessel(rng)) for _ in range(140)]
    weights = [c.weight for c in consignees]
    return [
        _shipment(clerk, rng.choices(consignees, weights)[0], rng.choice(vessels))
        for _ in range(count)
    ]


def _shipment(clerk: Clerk, consignee: _Consignee, vessel: str) -> tuple[date, dict[str, str]]:
    rng = clerk.rng
    declared = random_date(rng, date(2023, 1, 2), _LAST_DAY)
    container = clerk.fresh("container", lambda: ids.draw_container(rng))
    company = consignee.company
    written_company = clerk.write(
        "company", lambda: ids.write_company(rng, company), lambda: ids.slip_company(rng, company)
    )
    country, reg_no = written_company.split(":", 1)
    phone = _phone(clerk, consignee.phone, home="NL") if rng.random() < 0.92 else ""
    contact_name = contact_dob = ""
    contact = consignee.contact
    if contact is not None and rng.random() < 0.5:
        contact_name, contact_dob = clerk.person(
            lambda: (written_name(rng, contact, style="customs"), f"{contact.born:%d/%m/%Y}"),
            lambda born: slip_date(rng, born),
        )
    goods = rng.choice(list(_GOODS))
    low, high = _GOODS[goods]
    return declared, {
        "declared_on": f"{declared:%d/%m/%Y}",
        "container_no": clerk.write(
            "container",
            lambda: ids.write_container(rng, container),
            lambda: ids.slip_container(rng, container),
        ),
        "vessel_imo": clerk.write(
            "vessel", lambda: ids.write_vessel(rng, vessel), lambda: ids.slip_vessel(rng, vessel)
        ),
        "consignee_name": consignee.name,
        "consignee_country": country,
        "consignee_reg_no": reg_no,
        "consignee_phone": phone,
        "contact_name": contact_name,
        "contact_dob": contact_dob,
        "port_of_entry": rng.choices(PORTS, _PORT_WEIGHTS)[0],
        "commodity": goods,
        "declared_value_eur": str(rng.randrange(low, high, 50)),
        "risk_lane": rng.choices(("green", "amber", "red"), (85, 12, 3))[0],
        "handling": rng.choices(("H0", "H1", "H2", "H3"), (20, 70, 8, 2))[0],
    }


def _phone(clerk: Clerk, e164: str, *, home: str | None, slip_home: str | None = None) -> str:
    """``e164`` written by an agency whose default region is ``home`` (``None``: writes
    international forms only); a slip may use ``slip_home``'s national form."""
    rng = clerk.rng
    return clerk.write(
        "phone",
        lambda: pids.write_phone(rng, e164, home=home),
        lambda: pids.slip_phone(rng, e164, home=slip_home or home),
        region=home,
    )


def _plate(clerk: Clerk) -> dict[str, str]:
    rng = clerk.rng
    plate = clerk.fresh("vehicle", lambda: pids.draw_plate(rng))
    written = clerk.write(
        "vehicle", lambda: pids.write_plate(rng, plate), lambda: pids.slip_plate(rng, plate)
    )
    return {"plate": written, "make": rng.choice(_CAR_MAKES)}


# --- police -----------------------------------------------------------------------------------


def _police_person(
    clerk: Clerk, role: str, case: dict[str, str], recorded: date
) -> dict[str, object]:
    rng = clerk.rng
    person = _fresh_person(clerk, MINORS if role == "minor" else ADULTS)
    name, born = clerk.person(
        lambda: (written_name(rng, person, style="police"), person.born.isoformat()),
        lambda born: slip_date(rng, born),
    )
    nationality = person.nationality if rng.random() < 0.8 else "NLD"
    passport = None
    if role != "minor" and rng.random() < (0.75 if role in ("suspect", "associate") else 0.4):
        value = clerk.fresh("passport", lambda: pids.draw_passport(rng, nationality))
        written = clerk.write(
            "passport",
            lambda: pids.write_passport(rng, value),
            lambda: pids.slip_passport(rng, value),
        )
        country, number = written.split(":", 1)
        passport = {"country": country, "number": number}
    phones = []
    for _ in range(rng.choices((0, 1, 2, 3), (15, 50, 25, 10))[0]):
        region = _phone_region(rng, 0.75, person.culture.region)
        number = clerk.fresh("phone", partial(pids.draw_phone, rng, region))
        phones.append(_phone(clerk, number, home="NL"))
    email = None
    if rng.random() < 0.45:
        given, surname = person.ascii_parts()
        address = clerk.fresh("email", lambda: pids.draw_email(rng, given, surname))
        email = clerk.write(
            "email", lambda: pids.write_email(rng, address), lambda: pids.slip_email(rng, address)
        )
    vehicles = []
    if role != "minor":
        vehicles = [_plate(clerk) for _ in range(rng.choices((0, 1, 2), (70, 25, 5))[0])]
    return {
        "case": case,
        "role": role,
        "full_name": name,
        "date_of_birth": born,
        "nationality": nationality,
        "passport": passport,
        "contact": {"phones": phones, "email": email},
        "vehicles": vehicles,
        "handling": rng.choices(("H0", "H1", "H2", "H3"), (10, 75, 12, 3))[0],
        "recorded_on": recorded.isoformat(),
    }


def police_case_persons(clerk: Clerk, count: int) -> list[tuple[date, dict[str, object]]]:
    rng = clerk.rng
    rows: list[tuple[date, dict[str, object]]] = []
    serial = 0
    while len(rows) < count:
        serial += 1
        opened = random_date(rng, date(2016, 6, 1), _LAST_DAY)
        offence = rng.choice(_OFFENCES)
        case = {"number": f"POL-{opened.year}-{serial:05d}", "offence": offence}
        size = min(rng.choices((1, 2, 3, 4, 5, 6), (20, 25, 20, 15, 12, 8))[0], count - len(rows))
        for position in range(size):
            role = (
                "suspect"
                if position == 0
                else rng.choices(
                    ("suspect", "associate", "witness", "victim", "minor"), (25, 30, 25, 15, 5)
                )[0]
            )
            recorded = random_date(rng, opened, min(_LAST_DAY, opened + timedelta(days=60)))
            rows.append((recorded, _police_person(clerk, role, case, recorded)))
    return rows


# --- intel ------------------------------------------------------------------------------------

_INTEL_EMPTY: dict[str, object] = {
    "company_country": None, "company_reg_no": None, "lei": None, "iban": None,
    "vessel_imo": None, "phone": None, "person_name": None, "person_dob": None,
}  # fmt: skip


def _intel_phone(clerk: Clerk) -> str:
    rng = clerk.rng
    region = rng.choice(pids.PHONE_REGIONS)
    number = clerk.fresh("phone", lambda: pids.draw_phone(rng, region))
    return _phone(clerk, number, home=None, slip_home=region)


def _intel_iban(clerk: Clerk, country: str | None = None) -> str:
    rng = clerk.rng
    iban = clerk.fresh("iban", lambda: ids.draw_iban(rng, country))
    return clerk.write("iban", lambda: ids.write_iban(rng, iban), lambda: ids.slip_iban(rng, iban))


def _intel_entry(clerk: Clerk, kind: str) -> dict[str, object]:
    rng = clerk.rng
    entry = dict(_INTEL_EMPTY)
    if kind == "company":
        company = clerk.fresh(
            "company",
            lambda: ids.draw_company(rng, rng.choice(("NL", "CY", "MT", "GB", "AE", "BE"))),
        )
        written = clerk.write(
            "company",
            lambda: ids.write_company(rng, company),
            lambda: ids.slip_company(rng, company),
        )
        country, entry["company_reg_no"] = written.split(":", 1)
        entry["company_country"] = _ALPHA3[country]
        if rng.random() < 0.4:
            lei = clerk.fresh("lei", lambda: ids.draw_lei(rng))
            entry["lei"] = clerk.write(
                "lei", lambda: ids.write_lei(rng, lei), lambda: ids.slip_lei(rng, lei)
            )
        if rng.random() < 0.5:
            entry["iban"] = _intel_iban(clerk, country if country in ids.IBAN_COUNTRIES else None)
        if rng.random() < 0.4:
            entry["phone"] = _intel_phone(clerk)
    elif kind == "person":
        person = _fresh_person(clerk, ADULTS)
        date_form = rng.choice(("{:%Y-%m-%d}", "{:%d.%m.%Y}"))
        entry["person_name"], entry["person_dob"] = clerk.person(
            lambda: (written_name(rng, person, style="intel"), date_form.format(person.born)),
            lambda born: slip_date(rng, born),
        )
        if rng.random() < 0.5:
            entry["phone"] = _intel_phone(clerk)
        if rng.random() < 0.2:
            entry["iban"] = _intel_iban(clerk)
    elif kind == "vessel":
        vessel = clerk.fresh("vessel", lambda: ids.draw_vessel(rng))
        entry["vessel_imo"] = clerk.write(
            "vessel", lambda: ids.write_vessel(rng, vessel), lambda: ids.slip_vessel(rng, vessel)
        )
    elif kind == "phone":
        entry["phone"] = _intel_phone(clerk)
    else:
        entry["iban"] = _intel_iban(clerk)
    return entry


def intel_watch_entries(clerk: Clerk, count: int) -> list[tuple[date, dict[str, object]]]:
    rng = clerk.rng
    rows: list[tuple[date, dict[str, object]]] = []
    for _ in range(count):
        kind = rng.choices(
            ("company", "person", "vessel", "phone", "account"), (30, 35, 10, 15, 10)
        )[0]
        added = random_date(rng, date(2022, 6, 1), _LAST_DAY)
        entry = _intel_entry(clerk, kind)
        entry.update(
            subject_kind=kind,
            assessment=rng.choices(("TGT", "ASC", "REF"), (40, 35, 25))[0],
            handling_code=rng.choices(("H1", "H2", "H3"), (50, 35, 15))[0],
            date_added=added.isoformat(),
        )
        rows.append((added, entry))
    return rows


# --- seizures ---------------------------------------------------------------------------------

# Typical seizure sizes (median kg, spread) per commodity: cocaine comes by the hundreds of kg.
_SEIZURE_SIZES = {
    "cocaine": (300.0, 1.1), "heroin": (40.0, 1.0), "cannabis": (250.0, 1.0),
    "synthetic drugs": (30.0, 1.2), "cigarettes": (600.0, 0.8),
    "counterfeit goods": (400.0, 0.9), "weapons": (8.0, 0.9),
}  # fmt: skip
_SEIZURE_WEIGHTS = (30, 8, 18, 14, 14, 10, 6)


def seizures(rng: random.Random, prefix: str, count: int) -> list[dict[str, object]]:
    """Seizure rows for ``count`` seizures, grouped in cases of one to four (the privacy unit):
    a case keeps to one port and mostly one commodity. Months are within 2025."""
    rows: list[dict[str, object]] = []
    case_serial = 0
    while len(rows) < count:
        case_serial += 1
        case_id = f"{prefix}-2025-{case_serial:04d}"
        port = rng.choices(PORTS, _PORT_WEIGHTS)[0]
        commodity = rng.choices(SEIZED_COMMODITIES, _SEIZURE_WEIGHTS)[0]
        first_month = rng.randint(1, 12)
        for _ in range(min(rng.choices((1, 2, 3, 4), (45, 30, 15, 10))[0], count - len(rows))):
            if rng.random() < 0.2:
                commodity = rng.choices(SEIZED_COMMODITIES, _SEIZURE_WEIGHTS)[0]
            median, spread = _SEIZURE_SIZES[commodity]
            kilograms = round(median * rng.lognormvariate(0.0, spread))
            month = min(12, first_month + rng.choice((0, 0, 0, 1, 2)))
            rows.append(
                {
                    "seizure_id": f"{prefix}-SZ-{len(rows) + 1:05d}",
                    "case_id": case_id,
                    "port": port,
                    "commodity": commodity,
                    "month": f"2025-{month:02d}",
                    "quantity_kg": max(1, min(2000, kilograms)),
                }
            )
    return rows

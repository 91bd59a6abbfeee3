"""Operation Lantern: the smuggling network planted in the demo data, and the searches that
surface it.

No agency sees the network alone. Customs sees reefer shipments for Baltic Reefer Logistics
with an ordinary-looking consignee phone; police have an organised-crime case whose suspect
uses that phone and whose associate uses another; intel watches the company, its Cypriot
account, the vessel and the associate's phone, and holds the suspect under a Cyrillic spelling
of his name. Each agency writes every value its own way; they meet only in canonical form.

Decoys share nothing: customs' Highland Seafood consignments and police's Ivanov case, plus
near-misses of Lantern values (one digit or one day off) that no agency holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stdnum import imo as stdnum_imo
from stdnum import iso6346

from connectors.vocabulary import canonicalise, canonicalise_person
from gateway.demo.identifiers import grouped, iban_from_bban, lei_with_check

__all__ = [
    "DECOY",
    "LANTERN",
    "SEARCHES",
    "DemoSearch",
    "customs_rows",
    "intel_rows",
    "police_rows",
    "reserved_values",
]


@dataclass(frozen=True)
class DemoSearch:
    """One search an analyst runs in the demo. ``identifiers`` are in the local search API's
    shape; ``expect_hits`` maps a partner agency to the indexes of ``identifiers`` that hit
    there under the demo policies (``policies/examples``)."""

    by: str
    purpose: str
    case_reference: str
    identifiers: tuple[dict[str, str], ...]
    expect_hits: dict[str, tuple[int, ...]]
    story: str


def _imo(head: str) -> str:
    return head + stdnum_imo.calc_check_digit(head)


def _container(head: str) -> str:
    return head + iso6346.calc_check_digit(head)


@dataclass(frozen=True)
class _Lantern:
    """The network's values, as ``CC:number``, E.164, bare IMO digits or (name, date of birth):
    every agency's written variant folds to the same canonical form (``reserved_values``)."""

    company: str = "NL:68413207"  # Baltic Reefer Logistics B.V. (KvK)
    company_name: str = "Baltic Reefer Logistics B.V."
    lei: str = lei_with_check("724500BRL7Q2X9KM0D")
    iban: str = iban_from_bban("CY", "005006010000003590418276")
    vessel: str = _imo("947165")  # the reefer ship "Nordic Juniper"
    containers: tuple[str, ...] = tuple(
        _container(f"BRLU{serial}")
        for serial in ("412803", "415077", "418362", "420914", "423351", "427608")
    )
    phone_consignee: str = "+31628471936"  # P1: on the declarations, and the suspect's phone
    phone_associate: str = "+32470582193"  # P2: the associate's phone, watched by intel
    phone_minor: str = "+31639152084"  # the suspect's son's SIM, used on one declaration
    phone_suspect_own: str = "+359884127730"  # the suspect's Bulgarian phone: nobody else has it
    suspect: tuple[str, str] = ("Dimitar Petrov", "1979-03-14")
    suspect_passport: str = "BGR:381546972"
    suspect_vehicle: str = "NL:JZ718R"
    associate: tuple[str, str] = ("Kerem Aydın", "1986-11-02")
    associate_passport: str = "TUR:U24817395"
    minor: tuple[str, str] = ("Viktor Petrov", "2010-06-21")
    police_case: str = "POL-OC-2025-77"


@dataclass(frozen=True)
class _Decoy:
    """Values that share nothing across agencies, and near-misses of Lantern's that no agency
    holds."""

    company: str = "GB:SC612847"  # Highland Seafood Traders Ltd: customs only
    company_name: str = "Highland Seafood Traders Ltd"
    phone_company: str = "+441224558210"
    vessel: str = _imo("923501")
    container: str = _container("HLXU771204")
    person: tuple[str, str] = ("Ivanov Petr", "1968-09-30")  # police only
    passport: str = "RUS:751203948"
    phone_person: str = "+79162045513"
    vehicle: str = "DE:KLEXT447"
    police_case: str = "POL-OC-2025-81"
    near_phone: str = "+31628471937"  # P1 with the last digit off
    near_company: str = "NL:68413270"  # the front company's number with two digits swapped
    near_suspect: tuple[str, str] = ("Dimitar Petrov", "1979-04-14")  # one month off


LANTERN = _Lantern()
DECOY = _Decoy()


def reserved_values() -> frozenset[tuple[str, str]]:
    """Every planted and decoy value, canonical: background data must never produce one."""
    lantern, decoy = LANTERN, DECOY
    values = [
        ("company", lantern.company), ("lei", lantern.lei), ("iban", lantern.iban),
        ("vessel", lantern.vessel), *(("container", c) for c in lantern.containers),
        ("phone", lantern.phone_consignee), ("phone", lantern.phone_associate),
        ("phone", lantern.phone_minor), ("phone", lantern.phone_suspect_own),
        ("passport", lantern.suspect_passport), ("passport", lantern.associate_passport),
        ("vehicle", lantern.suspect_vehicle),
        ("company", decoy.company), ("phone", decoy.phone_company), ("vessel", decoy.vessel),
        ("container", decoy.container), ("passport", decoy.passport),
        ("phone", decoy.phone_person), ("vehicle", decoy.vehicle),
        ("phone", decoy.near_phone), ("company", decoy.near_company),
    ]  # fmt: skip
    people = (lantern.suspect, lantern.associate, lantern.minor, decoy.person, decoy.near_suspect)
    canonical = [(id_type, canonicalise(id_type, value)) for id_type, value in values]
    canonical += [("person", canonicalise_person(*person)) for person in people]
    return frozenset(canonical)


# --- planted rows, as each agency writes them ------------------------------------------------

CustomsRow = dict[str, str]


def customs_rows() -> list[tuple[date, CustomsRow]]:
    """Six Lantern shipments (Rotterdam and Antwerp, February to September 2025) and three
    Highland Seafood decoys, without shipment ids (assigned when all rows are sorted)."""
    lantern, decoy = LANTERN, DECOY
    vessel = lantern.vessel
    plan = [
        # (declared, port, phone as written, reg no as written, vessel as written, contact?)
        (date(2025, 2, 11), "Rotterdam", "06-28471936", "68413207", vessel, False),
        (date(2025, 3, 27), "Antwerp", "+31 6 2847 1936", "6841 3207", f"IMO {vessel}", True),
        (date(2025, 5, 8), "Rotterdam", "06-28471936", "68413207", vessel, False),
        (date(2025, 6, 19), "Antwerp", "06 39 15 20 84", "68413207", f"IMO {vessel}", False),
        (date(2025, 8, 4), "Rotterdam", "0628471936", "6841 3207", vessel, True),
        (date(2025, 9, 22), "Antwerp", "+31 6 2847 1936", "68413207", vessel, False),
    ]
    rows: list[tuple[date, CustomsRow]] = []
    for index, (declared, port, phone, reg_no, written_vessel, contact) in enumerate(plan):
        container = lantern.containers[index]
        rows.append(
            (
                declared,
                {
                    "declared_on": declared.strftime("%d/%m/%Y"),
                    "container_no": f"{container[:4]} {container[4:10]}-{container[10]}",
                    "vessel_imo": written_vessel,
                    "consignee_name": lantern.company_name,
                    "consignee_country": "NL",
                    "consignee_reg_no": reg_no,
                    "consignee_phone": phone,
                    "contact_name": "AYDIN, Kerem" if contact else "",
                    "contact_dob": "02/11/1986" if contact else "",
                    "port_of_entry": port,
                    "commodity": "frozen fish" if index % 2 else "bananas",
                    "declared_value_eur": str(18_400 + 2_350 * index),
                    "risk_lane": "amber",
                    "handling": "H1",
                },
            )
        )
    for declared, port in (
        (date(2025, 4, 14), "Algeciras"),
        (date(2025, 7, 1), "Valencia"),
        (date(2025, 10, 6), "Algeciras"),
    ):
        rows.append(
            (
                declared,
                {
                    "declared_on": declared.strftime("%d/%m/%Y"),
                    "container_no": decoy.container,
                    "vessel_imo": f"IMO {decoy.vessel}",
                    "consignee_name": decoy.company_name,
                    "consignee_country": "GB",
                    "consignee_reg_no": decoy.company.split(":")[1],
                    "consignee_phone": "+44 1224 558210",
                    "contact_name": "",
                    "contact_dob": "",
                    "port_of_entry": port,
                    "commodity": "frozen fish",
                    "declared_value_eur": "26900",
                    "risk_lane": "amber",
                    "handling": "H1",
                },
            )
        )
    return rows


PoliceRow = dict[str, object]


def _police_person(
    role: str,
    name: str,
    born: str,
    nationality: str,
    passport: str | None,
    phones: list[str],
    email: str | None,
    vehicles: list[dict[str, str]],
    case: str,
    recorded: date,
) -> tuple[date, PoliceRow]:
    country, _, number = (passport or "").partition(":")
    return recorded, {
        "case": {"number": case, "offence": "drug trafficking (organised crime)"},
        "role": role,
        "full_name": name,
        "date_of_birth": born,
        "nationality": nationality,
        "passport": {"country": country, "number": number} if passport else None,
        "contact": {"phones": phones, "email": email},
        "vehicles": vehicles,
        "handling": "H1",
        "recorded_on": recorded.isoformat(),
    }


def police_rows() -> list[tuple[date, PoliceRow]]:
    """The Lantern case (suspect, associate, the suspect's minor son) and the Ivanov decoy."""
    lantern, decoy, case = LANTERN, DECOY, LANTERN.police_case
    return [
        _police_person(
            "suspect", *lantern.suspect, "BGR", "BGR:381546972",
            ["0031 6 28 47 19 36", "+359 88 412 7730"], "d.petrov79@proton.me",
            [{"plate": "NL:JZ-718-R", "make": "BMW X5"}], case, date(2025, 4, 15),
        ),
        _police_person(
            "associate", *lantern.associate, "TUR", "TUR:U24817395",
            ["+32 470/58.21.93"], None, [], case, date(2025, 4, 15),
        ),
        _police_person(
            "minor", *lantern.minor, "BGR", None, ["06-39152084"], None, [], case,
            date(2025, 5, 2),
        ),
        _police_person(
            "suspect", "IVANOV Petr", decoy.person[1], "RUS", "RUS:751203948",
            ["+7 916 204-55-13"], None, [{"plate": "DE:KLE-XT 447", "make": "Audi A6"}],
            decoy.police_case, date(2025, 6, 11),
        ),
    ]  # fmt: skip


IntelRow = dict[str, object]


def intel_rows() -> list[tuple[date, IntelRow]]:
    """Watch entries on the front company (with its LEI, account and the associate's phone),
    the vessel, and the suspect under his Cyrillic name."""
    lantern = LANTERN
    empty: IntelRow = {
        "company_country": None, "company_reg_no": None, "lei": None, "iban": None,
        "vessel_imo": None, "phone": None, "person_name": None, "person_dob": None,
    }  # fmt: skip
    iban = grouped(lantern.iban, 4, "-").lower()
    return [
        (
            date(2025, 7, 2),
            {
                **empty,
                "subject_kind": "company",
                "assessment": "TGT",
                "company_country": "NLD",
                "company_reg_no": "6841-3207",
                "lei": lantern.lei,
                "iban": iban,
                "phone": "0032 470 58 21 93",
                "handling_code": "H1",
                "date_added": "2025-07-02",
            },
        ),
        (
            date(2025, 7, 2),
            {
                **empty,
                "subject_kind": "vessel",
                "assessment": "ASC",
                "vessel_imo": f"IMO {lantern.vessel}",
                "handling_code": "H1",
                "date_added": "2025-07-02",
            },
        ),
        (
            date(2025, 7, 9),
            {
                **empty,
                "subject_kind": "person",
                "assessment": "TGT",
                "person_name": "ПЕТРОВ, Димитар",
                "person_dob": "14.03.1979",
                "handling_code": "H1",
                "date_added": "2025-07-09",
            },
        ),
    ]


# --- the searches -----------------------------------------------------------------------------

_P = LANTERN
SEARCHES: tuple[DemoSearch, ...] = (
    DemoSearch(
        by="customs",
        purpose="organised-crime",
        case_reference="CUS-2025-0412",
        identifiers=(
            {"type": "company", "value": "68413207", "country": "NL"},
            {"type": "phone", "value": "06 2847 1936", "default_region": "NL"},
            {"type": "phone", "value": "06-39152084", "default_region": "NL"},
            {"type": "vessel", "value": f"IMO {_P.vessel}"},
            {"type": "container", "value": _P.containers[0]},
        ),
        expect_hits={"police": (1, 2), "intel": (0, 3)},
        story=(
            "Customs' reefer consignee Baltic Reefer Logistics is watched by intel (company and "
            "vessel), its consignee phone belongs to a police suspect, and another declaration's "
            "phone to a minor in the same case (a bare hit, nothing disclosed)."
        ),
    ),
    DemoSearch(
        by="police",
        purpose="organised-crime",
        case_reference=_P.police_case,
        identifiers=(
            {"type": "phone", "value": "+31 6 28 47 19 36"},
            {"type": "phone", "value": "+359 88 412 7730"},
            {"type": "phone", "value": "0470 58 21 93", "default_region": "BE"},
            {"type": "passport", "value": "BGR 381546972"},
            {"type": "person", "name": "Dimitar Petrov", "date_of_birth": "1979-03-14"},
            {"type": "person", "name": "Kerem Aydın", "date_of_birth": "1986-11-02"},
            {"type": "vehicle", "value": "NL:JZ-718-R"},
        ),
        expect_hits={"customs": (0, 5), "intel": (2, 4)},
        story=(
            "The suspect's phone is the consignee phone on customs declarations where his "
            "associate signs as contact, and intel holds both the suspect (under a Cyrillic "
            "spelling) and the associate's phone."
        ),
    ),
    DemoSearch(
        by="intel",
        purpose="organised-crime",
        case_reference="INT-2025-0193",
        identifiers=(
            {"type": "iban", "value": grouped(_P.iban)},
            {"type": "lei", "value": _P.lei},
            {"type": "company", "value": "NL:6841 3207"},
            {"type": "vessel", "value": _P.vessel},
            {"type": "phone", "value": "+32 470 58 21 93"},
            {"type": "person", "name": "ПЕТРОВ, Димитар", "date_of_birth": "14.03.1979"},
        ),
        expect_hits={"customs": (2, 3), "police": (4, 5)},
        story=(
            "The watched company and vessel turn up in customs' reefer shipments, and the "
            "watched phone and person in a police organised-crime case; the account stays "
            "with intel."
        ),
    ),
    DemoSearch(
        by="customs",
        purpose="smuggling",
        case_reference="CUS-2025-0519",
        identifiers=(
            {"type": "company", "value": "GB:SC612847"},
            {"type": "phone", "value": "+44 1224 558210"},
            {"type": "vessel", "value": f"IMO {DECOY.vessel}"},
            {"type": "phone", "value": "06 2847 1937", "default_region": "NL"},
            {"type": "company", "value": "NL:68413270"},
            {"type": "person", "name": "Dimitar Petrov", "date_of_birth": "1979-04-14"},
        ),
        expect_hits={"police": (), "intel": ()},
        story=(
            "A suspicious Highland Seafood consignment and three near-misses of Lantern values "
            "(a digit, two swapped digits, a month off) hit nowhere: matching is exact, and a "
            "miss tells the partner nothing."
        ),
    ),
)

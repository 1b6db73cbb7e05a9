"""For tests: write learner records as a PARS activity-report file: the shape `xmlfile` reads (see its
docstring), valid against the MedBiquitous Activity Report v1 schema.

One ActivityReport per record, so that each carries its own action and board in XtensibleInfo.
Conversions to the schema's types: completion date "MM/DD/YYYY" (also "M/D/YYYY", "MM-DD-YYYY",
ISO) -> xsd:dateTime at midnight; date of birth "MM/DD" -> xsd:date in the placeholder year
2000 (PARS keeps no birth year; 2000 is a leap year, so 02/29 fits); credits -> xsd:decimal.
A value that does not convert is written as given: the round trip still carries it (a test can
build a file with a bad date on purpose), but such a document does not validate.
`format_errors` are not written: they are what a reader finds, not data.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from lxml import etree

from pars_intake.domain.rows import RowInput, clean
from pars_intake.domain.xmlfile import AR_NS, EX_NS, HX_NS, MEMBER_NS, NAME_NS

NSMAP = {"ar": AR_NS, "m": MEMBER_NS, "n": NAME_NS, "hx": HX_NS, "ex": EX_NS}
PLACEHOLDER_BIRTH_YEAR = 2000

# Characters XML 1.0 cannot carry (control characters, lone surrogates): written as U+FFFD.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_US_DATE = re.compile(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4})")
_MONTH_DAY = re.compile(r"(\d{1,2})/(\d{1,2})")


def records_to_xml(
    rows: list[RowInput],
    reporting_org: str = "PARS learner reporting",
    created_at: datetime | None = None,
) -> bytes:
    """A UTF-8 activity-report document holding `rows`, in order."""
    root = etree.Element(_ar("ActivityReports"), nsmap=NSMAP)
    created = (created_at or datetime.now(UTC)).replace(microsecond=0)
    _add(root, _ar("DateTimeCreated"), created.isoformat())
    for row in rows:
        _report(root, row, clean(reporting_org) or "PARS")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _ar(name: str) -> str:
    return f"{{{AR_NS}}}{name}"


def _add(parent: etree._Element, tag: str, text: str | None = None, **attrib: str):
    element = etree.SubElement(parent, tag, {k: _xml_text(v) for k, v in attrib.items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def _xml_text(value: str) -> str:
    return _NOT_XML_CHAR.sub("\ufffd", value)


def _report(root: etree._Element, row: RowInput, org: str) -> None:
    v: dict[str, Any] = {name: clean(value) if isinstance(value, str) else value for name, value in row}
    report = _add(root, _ar("ActivityReport"))
    _add(report, _ar("ReportingOrganization"), org)
    _member(report, v)
    activity_id = v["activity_id"]
    title = f"ACCME activity {activity_id}" if activity_id else "ACCME activity"
    activity = _add(report, _ar("Activity"), **({"activityID": activity_id} if activity_id else {}))
    _add(activity, _ar("ProviderOrganization"), org)
    _add(activity, _ar("ActivityName"), title)
    module = _add(activity, _ar("Module"))
    _add(module, _ar("ModuleName"), title, **({"moduleID": activity_id} if activity_id else {}))
    _add(module, _ar("Status"), "Completed")
    if v["completion_date"]:
        _add(module, _ar("CompletedDateTime"), _date_time(v["completion_date"]))
    types: list[str | None] = [t for t in (clean(t) for t in v["credit_types"]) if t]
    if types or v["credits"] or v["credit_id"]:
        for credit_type in types or [None]:  # one certificate per credit type (the schema's way)
            certificate = _add(module, _ar("CreditCertificate"))
            received = _add(certificate, _ar("CreditReceived"))
            if credit_type:
                _add(received, f"{{{HX_NS}}}activityCertification", credit_type)
            _add(received, f"{{{HX_NS}}}creditUnit", "Point")
            if v["credits"]:
                _add(received, f"{{{HX_NS}}}numberOfCredits", v["credits"])
            # Required by the schema; empty when the record has none (read back as missing: 650).
            _add(certificate, _ar("CreditID"), v["credit_id"] or "")
    extension = {
        "learnerRecordAction": _action(v["action"]),
        "board": v["board"],
        "learnerIdType": v["learner_id_type"],
        "npi": v["npi"] if not _npi_as_unique_id(v) else None,
    }
    if any(extension.values()):
        info = _add(report, _ar("XtensibleInfo"))
        for name, value in extension.items():
            if value:
                _add(info, f"{{{EX_NS}}}{name}", value)


def _npi_as_unique_id(v: dict) -> bool:
    """The NPI goes beside the learner id as a UniqueID only where it cannot be mistaken for
    the learner id itself; otherwise it travels as ex:npi."""
    id_type = (v["learner_id_type"] or "").upper()
    return bool(v["npi"] and v["learner_id"] and id_type and id_type != "NPI")


def _member(report: etree._Element, v: dict) -> None:
    member = _add(report, f"{{{AR_NS}}}Member")
    if v["learner_id"]:
        _add(member, f"{{{MEMBER_NS}}}UniqueID", v["learner_id"], domain=v["learner_id_type"] or "")
    if _npi_as_unique_id(v):
        _add(member, f"{{{MEMBER_NS}}}UniqueID", v["npi"], domain="NPI")
    if v["first_name"] or v["last_name"]:
        name = _add(member, f"{{{MEMBER_NS}}}Name")
        if v["first_name"]:
            _add(name, f"{{{NAME_NS}}}GivenName", v["first_name"])
        if v["last_name"]:
            _add(name, f"{{{NAME_NS}}}FamilyName", v["last_name"])
    if v["date_of_birth"]:
        info = _add(member, f"{{{MEMBER_NS}}}PersonalInfo")
        _add(info, f"{{{MEMBER_NS}}}BirthDate", _birth_date(v["date_of_birth"]))


def _action(value: str | None) -> str | None:
    return value.lower() if value and value.lower() in ("add", "delete") else value


def _date_time(value: str) -> str:
    match = _US_DATE.fullmatch(value)
    try:
        if match:
            day = date(int(match[3]), int(match[1]), int(match[2]))
        else:
            day = date.fromisoformat(value)
    except ValueError:
        return value
    return f"{day.isoformat()}T00:00:00"


def _birth_date(value: str) -> str:
    match = _MONTH_DAY.fullmatch(value)
    try:
        if match:
            return date(PLACEHOLDER_BIRTH_YEAR, int(match[1]), int(match[2])).isoformat()
    except ValueError:
        pass
    return value

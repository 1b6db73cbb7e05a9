"""MedBiquitous Activity Report v1 files as PARS uses them (SPEC 3.2, seed "Deleting Records").

Shape read (elements matched by local name below the root, so a file that drops or changes a
namespace prefix still reads; the root must be `ActivityReports` in the v1 namespace or none)::

    ActivityReports
      DateTimeCreated
      ActivityReport                    one learner (Member); stands alone
        ReportingOrganization
        Member
          UniqueID@domain               learner id; domain = id type (ABIM, NPI, LICENSE...)
          UniqueID@domain="NPI"         optional NPI beside a board id
          Name/GivenName, Name/FamilyName
          PersonalInfo/BirthDate        xsd:date (year ignored) -> "MM/DD"
        Activity@activityID
          Module                        one learner record row
            ModuleName@moduleID         ACCME activity id
            Status
            CompletedDateTime           xsd:dateTime -> "MM/DD/YYYY"; missing -> None (631)
            CreditCertificate*          none -> 677
              CreditReceived
                hx:activityCertification   one credit type per certificate
                hx:creditUnit              "Point"
                hx:numberOfCredits         the record's credits (the first one given)
              CreditID                     the record's credit id (the first one); none -> 650
        XtensibleInfo                   the PARS extension (namespace EX_NS, prefix ex)
          ex:learnerRecordAction        add | delete  (as the seed shows)
          ex:board                      board or program code
          ex:learnerIdType              learner id type, when UniqueID@domain is not it
          ex:npi                        NPI beside a board id

The board is `ex:board` when given; otherwise the one board whose credit types include every
`activityCertification` of the module (state boards share "AMA PRA Category 1 Credit", so that
alone decides nothing); otherwise the learner id type when it is a board code; otherwise None,
and the validator reports it. Values that cannot be converted (a date that is not a date) are
passed on as written, for the validator to judge.

Untrusted input: no DTD (a DOCTYPE or ENTITY refuses the file), no entity expansion, no
network, depth and text-size limits, 10 MB and 2,500 records at most. Reading costs time linear
in the file's size: markup (elements, comments, processing instructions) and namespace
declarations are counted in the bytes before parsing, attributes are counted per element before
any value is read (reading values by name is quadratic in lxml), and every record value is at
most MAX_FIELD characters (a joined text is checked after joining).
"""

from __future__ import annotations

import codecs
import re
from datetime import date, datetime
from typing import Any

from lxml import etree

from pars_contracts.boards import BOARDS
from pars_contracts.codes import ErrorDetail, error

from .rows import (
    NO_RECORDS,
    NOT_FORMATTED,
    NOT_XML,
    FileFormatError,
    ParsedFile,
    ParsedRow,
    RowInput,
    bounded,
    check_record_count,
    check_size,
    clean,
    template_b_cells,
)

AR_NS = "http://ns.medbiq.org/activityreport/v1/"
MEMBER_NS = "http://ns.medbiq.org/member/v1/"
NAME_NS = "http://ns.medbiq.org/name/v1/"
HX_NS = "http://ns.medbiq.org/lom/extend/v1/"
EX_NS = "http://ns.pars.example/ext/v1/"

MAX_DEPTH = 40  # a PARS report is 7 levels deep; lom metadata adds a few
MAX_TEXT = 10_000  # characters in one text node or attribute (a credit id is at most 300)
# A 2,500-record file with six certificates a record holds about 285,000 "<": markup beyond this
# is no activity report, and refusing it before parsing keeps the work linear and short.
MAX_MARKUP = 400_000
MAX_NAMESPACE_DECLARATIONS = 50_000  # in the bytes; a report declares a handful (or a few per record)
MAX_ATTRIBUTES = 50  # per element; a PARS element has one or two

_ROOTS = {f"{{{AR_NS}}}ActivityReports", "ActivityReports"}
_ACTIONS = {"add": "Add", "delete": "Delete"}


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,  # keeps libxml2's own depth and node-size limits
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml_file(data: bytes) -> ParsedFile:
    """Read an activity-report file into rows. Raises FileFormatError or TooLargeError only."""
    check_size(data)
    _check_looks_like_xml(data)
    try:
        root = etree.fromstring(data, _parser())
    except (etree.LxmlError, ValueError) as exc:
        # The parser's own message may quote the file; the provider gets the seed's message.
        raise FileFormatError(NOT_FORMATTED) from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise FileFormatError(NOT_FORMATTED)
    _check_limits(root)
    if root.tag not in _ROOTS:
        raise FileFormatError(NOT_FORMATTED)
    reports = _children(root, "ActivityReport")
    # Counted before any record is built, so that a flood of tiny modules costs little.
    count = sum(max(1, len(_activity_modules(r))) for r in reports)
    if not count:
        raise FileFormatError(NO_RECORDS)
    check_record_count(count)
    rows: list[ParsedRow] = []
    for report in reports:
        for record in _records(report):
            record = bounded(record)
            rows.append(ParsedRow(len(rows) + 1, template_b_cells(record), record))
    return ParsedFile(rows=rows)


def _check_looks_like_xml(data: bytes) -> None:
    """A file that does not start with markup is not XML at all (a tab file sent as .xml)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = data[:512].decode("utf-16", errors="replace").lstrip("\ufeff \t\r\n")
    elif data.startswith((b"<\x00", b"\x00<")):
        head = "<"  # UTF-16 without a BOM; libxml2 detects it
    else:
        head = data[:512].removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")[:1].decode("latin-1")
    if not head.startswith("<"):
        raise FileFormatError(NOT_XML)
    # Declarations are refused before the parser sees them (billion laughs, external entities);
    # the DOCTYPE check after parsing also covers encodings this byte scan cannot see.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise FileFormatError(NOT_FORMATTED)
    # Counted in C over the bytes (UTF-16 over-counts, which only refuses sooner).
    if data.count(b"<") > MAX_MARKUP or data.count(b"xmlns") > MAX_NAMESPACE_DECLARATIONS:
        raise FileFormatError(NOT_FORMATTED)


def _check_limits(root: etree._Element) -> None:
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH or len(element.attrib) > MAX_ATTRIBUTES:  # counted before any value is read
            raise FileFormatError(NOT_FORMATTED)
        if (len(element.text or "") > MAX_TEXT or len(element.tail or "") > MAX_TEXT
                or any(len(value) > MAX_TEXT for value in element.values())):
            raise FileFormatError(NOT_FORMATTED)
        if len(element):
            stack.extend((child, depth + 1) for child in element)


def _local(element: etree._Element) -> str | None:
    tag = element.tag  # "{namespace}name" or "name"; not a str for comments, PIs, entities
    return tag.rpartition("}")[2] if isinstance(tag, str) else None


def _children(parent: etree._Element | None, name: str) -> list[etree._Element]:
    return [] if parent is None else [c for c in parent if _local(c) == name]


def _child(parent: etree._Element | None, name: str) -> etree._Element | None:
    found = _children(parent, name)
    return found[0] if found else None


def _text(element: etree._Element | None) -> str | None:
    return None if element is None else clean("".join(element.itertext()))


def _records(report: etree._Element) -> list[RowInput]:
    member = _child(report, "Member")
    extension = _child(report, "XtensibleInfo")
    explicit_board = _text(_child(extension, "board"))
    explicit_type = _text(_child(extension, "learnerIdType"))
    id_type, learner_id, npi = _identity(member, explicit_type)
    npi = _text(_child(extension, "npi")) or npi
    action = _text(_child(extension, "learnerRecordAction"))
    name = _child(member, "Name")
    learner: dict[str, Any] = {
        "action": _ACTIONS.get(action.casefold(), action) if action else None,
        "learner_id_type": id_type,
        "learner_id": learner_id,
        "npi": npi,
        "first_name": clean(" ".join(filter(None, map(_text, _children(name, "GivenName"))))),
        "last_name": clean(" ".join(filter(None, map(_text, _children(name, "FamilyName"))))),
        "date_of_birth": _birth_date(_text(_child(_child(member, "PersonalInfo"), "BirthDate"))),
    }
    records = []
    for activity, module in _activity_modules(report) or [(None, None)]:
        record = _module(activity, module)
        board = explicit_board or _infer_board(record["credit_types"], id_type)
        records.append(RowInput(**learner, **record, board=board))
    return records


def _activity_modules(report: etree._Element) -> list[tuple]:
    """(activity, module) pairs; an activity without modules is still a record (with errors)."""
    pairs: list[tuple] = []
    for activity in _children(report, "Activity"):
        modules = _children(activity, "Module")
        pairs += [(activity, m) for m in modules] or [(activity, None)]
    return pairs


def _identity(member, explicit_type: str | None) -> tuple[str | None, str | None, str | None]:
    """(learner id type, learner id, NPI) from the member's UniqueIDs."""
    ids = [(clean(u.get("domain")), _text(u)) for u in _children(member, "UniqueID")]
    ids = [(domain, value) for domain, value in ids if value]
    npi = next((v for d, v in ids if d and d.upper() == "NPI"), None)
    chosen = None
    if explicit_type:
        chosen = next((i for i in ids if i[0] and i[0].casefold() == explicit_type.casefold()), None)
    if chosen is None:  # the first id that is not the NPI, else the NPI itself
        others = [i for i in ids if not (i[0] and i[0].upper() == "NPI")]
        chosen = (others or ids or [(None, None)])[0]
    domain, learner_id = chosen
    if domain and domain.upper() == "NPI" and learner_id == npi:
        npi = None  # the NPI is the learner id itself, not an NPI beside it
    return explicit_type or domain, learner_id, npi


def _module(activity, module) -> dict:
    """The record's own fields from one Module (and its Activity, for a fallback id)."""
    name = _child(module, "ModuleName")
    activity_id = clean(name.get("moduleID")) if name is not None else None
    if activity_id is None and activity is not None:
        activity_id = clean(activity.get("activityID"))
    certificates = _children(module, "CreditCertificate")
    received = [_child(c, "CreditReceived") for c in certificates]
    credit_types = [t for t in (_text(_child(r, "activityCertification")) for r in received) if t]
    credits = next((v for v in (_text(_child(r, "numberOfCredits")) for r in received) if v), None)
    credit_id = next((v for v in (_text(_child(c, "CreditID")) for c in certificates) if v), None)
    errors: list[ErrorDetail] = []
    if not certificates:
        errors.append(error(677))
    if credit_id is None:  # no certificate means no credit id either: both are reported
        errors.append(error(650))
    return {
        "activity_id": activity_id,
        "completion_date": _completion_date(_text(_child(module, "CompletedDateTime"))),
        "credits": credits,
        "credit_types": credit_types,
        "credit_id": credit_id,
        "format_errors": errors,
    }


def _infer_board(credit_types: list[str], id_type: str | None) -> str | None:
    if credit_types:
        boards = [code for code, b in BOARDS.items()
                  if all(b.credit_type(t) is not None for t in credit_types)]
        if len(boards) == 1:
            return boards[0]
    if id_type and id_type.upper() in BOARDS:
        return id_type.upper()
    return None


_TZ = r"(?:Z|[+-]\d\d:\d\d)?"
_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)" + _TZ)
_MONTH_DAY = re.compile(r"--(\d\d)-(\d\d)" + _TZ)  # xsd:gMonthDay


def _birth_date(value: str | None) -> str | None:
    """xsd:date (the year is not PARS data) or gMonthDay to "MM/DD"; other text as written."""
    match = _DATE.fullmatch(value or "") or _MONTH_DAY.fullmatch(value or "")
    if match is None:
        return value
    month, day = match.groups()[-2:]
    try:
        date(2000, int(month), int(day))  # a leap year, so that 02/29 is a date
    except ValueError:
        return value
    return f"{month}/{day}"


def _completion_date(value: str | None) -> str | None:
    """xsd:dateTime (or xsd:date) to the template's "MM/DD/YYYY", the calendar date as
    written (no time-zone shift: the provider's date is the completion date); other text as
    written, for the validator to judge."""
    if value is None:
        return None
    try:
        day = datetime.fromisoformat(value).date()
    except ValueError:
        return value
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"

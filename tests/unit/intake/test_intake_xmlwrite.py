"""records_to_xml: schema-valid output that reads back to the same records."""

from __future__ import annotations

from datetime import UTC, datetime

from intake_helpers import assert_valid
from lxml import etree

from pars_intake.domain.rows import RowInput
from pars_intake.domain.xmlfile import AR_NS, EX_NS, parse_xml_file
from tests.support.xmlwrite import records_to_xml

VAN_GOGH = RowInput(
    board="ABO", activity_id="200931446", learner_id_type="ABO", learner_id="98989",
    first_name="Vincent", last_name="Van Gogh", date_of_birth="03/30",
    completion_date="02/10/2019", action="Add", credits="0.25", credit_types=["ABO MOC Part II"],
    credit_id="ccid:testProvider.org:1",
)
ROWS = [
    VAN_GOGH,
    RowInput(board="ABO", activity_id="200608492", learner_id_type="ABO", learner_id="98989",
             first_name="Vincent", last_name="Van Gogh", date_of_birth="03/30",
             completion_date="01/02/2020", action="Delete", credits="4",
             credit_types=["ABO MOC Part II"], credit_id="ccid:testProvider.org:123488"),
    RowInput(board="ABIM", activity_id="200000001", learner_id_type="ABIM", learner_id="123456",
             npi="1234567890", first_name="Zoë", last_name="O'Brien & <Sons>",
             date_of_birth="02/29", completion_date="12/31/2019", action="Add", credits="10",
             credit_types=["ABIM Medical Knowledge", "ABIM Patient Safety"],
             credit_id="ccid:p.org:2"),
    RowInput(board="TN", activity_id="200000002", learner_id_type="NPI", learner_id="1234567890",
             first_name="Traci", last_name="Tester", date_of_birth="07/01",
             completion_date="05/25/2019", action="Add", credits="5",
             credit_types=["AMA PRA Category 1 Credit", "Controlled Substance Prescribing"],
             credit_id="ccid:p.org:3"),
    RowInput(board="ABS", activity_id="200000003", learner_id_type="ABS", first_name="No",
             last_name="Id", date_of_birth="01/01", completion_date="01/01/2020", action="Add",
             credits="1", credit_types=["ABS Continuous Certification"], credit_id="ccid:p.org:4"),
    RowInput(board="ME-MD", activity_id="200930280", learner_id_type="LICENSE",
             learner_id="MD9966", npi="1112223334", first_name="Traci", last_name="Tester",
             date_of_birth="11/10", completion_date="07/18/2019", action="Add", credits="14",
             credit_types=["AMA PRA Category 1 Credit"], credit_id="ccid:p.org:5"),
]


def test_output_validates_against_the_schema():
    data = records_to_xml(ROWS, reporting_org="Western Regional Medical Center")
    assert_valid(data)


def test_round_trip():
    parsed = parse_xml_file(records_to_xml(ROWS))
    assert [r.record for r in parsed.rows] == ROWS


def test_template_dates_are_converted_to_schema_types():
    row = VAN_GOGH.model_copy(update={"completion_date": "2/10/2019", "date_of_birth": "3/30"})
    data = records_to_xml([row])
    assert_valid(data)
    assert b"2019-02-10T00:00:00" in data and b"2000-03-30" in data
    record = parse_xml_file(data).rows[0].record
    assert (record.completion_date, record.date_of_birth) == ("02/10/2019", "03/30")
    dashed = records_to_xml([row.model_copy(update={"completion_date": "02-10-2019"})])
    assert b"2019-02-10T00:00:00" in dashed


def test_sparse_records_still_validate():
    rows = [RowInput(), RowInput(credits="1"), RowInput(credit_types=["ABO MOC Part II"]),
            RowInput(npi="1234567890"), RowInput(learner_id="5")]
    data = records_to_xml(rows)
    assert_valid(data)
    parsed = [r.record for r in parse_xml_file(data).rows]
    assert {e.code for e in parsed[0].format_errors} == {650, 677}
    assert [e.code for e in parsed[1].format_errors] == [650]  # no credit id given
    assert parsed[1].credits == "1" and parsed[2].credit_types == ["ABO MOC Part II"]
    assert (parsed[3].npi, parsed[3].learner_id) == ("1234567890", None)
    assert (parsed[4].learner_id, parsed[4].learner_id_type) == ("5", None)


def test_values_that_do_not_convert_are_written_as_given():
    row = VAN_GOGH.model_copy(update={"completion_date": "10/6/19", "date_of_birth": "Jun-70",
                                      "credits": "ten"})
    record = parse_xml_file(records_to_xml([row])).rows[0].record
    assert (record.completion_date, record.date_of_birth, record.credits) == (
        "10/6/19", "Jun-70", "ten")


def test_characters_xml_cannot_carry_are_replaced():
    row = VAN_GOGH.model_copy(update={"first_name": "Vin\x07cent", "last_name": "Van\x00Gogh"})
    record = parse_xml_file(records_to_xml([row])).rows[0].record
    assert (record.first_name, record.last_name) == ("Vin\ufffdcent", "Van\ufffdGogh")


def test_shape_matches_the_seed():
    data = records_to_xml([ROWS[1]], created_at=datetime(2020, 1, 2, 16, 20, tzinfo=UTC))
    root = etree.fromstring(data)
    ns = {"ar": AR_NS, "ex": EX_NS}
    assert root.findtext("ar:DateTimeCreated", namespaces=ns) == "2020-01-02T16:20:00+00:00"
    module = root.find("ar:ActivityReport/ar:Activity/ar:Module", ns)
    assert module.find("ar:ModuleName", ns).get("moduleID") == "200608492"
    assert module.findtext("ar:Status", namespaces=ns) == "Completed"
    assert module.findtext("ar:CreditCertificate/ar:CreditID", namespaces=ns) == (
        "ccid:testProvider.org:123488")
    action = root.findtext("ar:ActivityReport/ar:XtensibleInfo/ex:learnerRecordAction",
                           namespaces=ns)
    assert action == "delete"

"""The upload page's committed resources: the sample XML files read as the seed's rows, Template B's
header is the header the tab parser recognizes, and the samples conform to the MedBiquitous schema."""

from __future__ import annotations

from importlib import resources

from lxml import etree

from pars_intake.domain.tabfile import HEADER_MARK
from pars_intake.domain.xmlfile import parse_xml_file

RESOURCES = resources.files("pars_intake.portal").joinpath("resources")


def test_the_sample_xml_files_read_as_the_seeds_rows() -> None:
    added = parse_xml_file(RESOURCES.joinpath("sample_learners_add.xml").read_bytes())
    assert [(r.record.action, r.record.learner_id, r.record.last_name, r.record.date_of_birth,
             r.record.completion_date, r.record.credits) for r in added.rows] == [
        ("Add", "98989", "Van Gogh", "03/30", "02/10/2019", "0.25"),
        ("Add", "97979", "O'Keeffe", "11/15", "05/05/2019", "0.25")]
    deleted = parse_xml_file(RESOURCES.joinpath("sample_learners_delete.xml").read_bytes())
    assert [(r.record.action, r.record.credit_id) for r in deleted.rows] == [("Delete", "ccid:testProvider.org:123488")]


def test_template_b_is_the_seeds_header_row_only() -> None:
    text = RESOURCES.joinpath("learner_template_b.txt").read_bytes().decode("utf-8")
    assert text.endswith("\r\n") and text.count("\n") == 1
    header = text.rstrip("\r\n").split("\t")
    assert len(header) == 17 and header[0].casefold().startswith(HEADER_MARK)
    assert header[3:5] == ["4. Learner ID Type", "5. Learner ID"]


def test_the_schema_is_complete_offline() -> None:
    """Every schema activityreport.xsd imports is in the copy: it loads with no network."""
    folder = RESOURCES.joinpath("medbiquitous")

    class Local(etree.Resolver):
        def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
            if url.startswith("http://ns.medbiq.org/"):
                return self.resolve_filename(str(folder.joinpath(url.removeprefix("http://ns.medbiq.org/"))),
                                             context)
            return None

    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(Local())
    schema_doc = etree.fromstring(folder.joinpath("activityreport/v1/activityreport.xsd").read_bytes(), parser,
                                  base_url="http://ns.medbiq.org/activityreport/v1/activityreport.xsd")
    etree.XMLSchema(schema_doc)

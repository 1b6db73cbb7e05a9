"""Shared helpers for the intake file-handling tests: the MedBiquitous schema (validated offline
through its catalog, committed with the upload page's resources) and small builders for Template B
files."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# The schemas the portal serves, copied into the repository with their source and licence noted
# (services/intake/src/pars_intake/portal/resources/README.md).
MEDBIQ = REPO / "services" / "intake" / "src" / "pars_intake" / "portal" / "resources" / "medbiquitous"
CATALOG = MEDBIQ / "catalog.xml"
XSD = MEDBIQ / "activityreport" / "v1" / "activityreport.xsd"
CORPUS = REPO / "tests" / "corpus"

# libxml2 reads the catalog path when it first resolves a schema import: set it before any
# schema is loaded, keeping a catalog someone else configured.
if CATALOG.exists():
    os.environ.setdefault("XML_CATALOG_FILES", str(CATALOG))

_schema = None


def activity_report_schema():
    """The Activity Report v1 schema, loaded once, without network."""
    global _schema
    if _schema is None:
        assert XSD.exists(), f"MedBiquitous schemas not found at {MEDBIQ}"
        from lxml import etree

        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        _schema = etree.XMLSchema(etree.parse(str(XSD), parser))
    return _schema


def assert_valid(document: bytes) -> None:
    from lxml import etree

    schema = activity_report_schema()
    tree = etree.fromstring(document, etree.XMLParser(no_network=True, resolve_entities=False))
    assert schema.validate(tree), str(schema.error_log)


def tab_lines(*rows: list[str] | str, newline: str = "\r\n") -> str:
    """A tab file's text from rows given as cell lists (or ready lines)."""
    return "".join((r if isinstance(r, str) else "\t".join(r)) + newline for r in rows)

"""After December 31 of the reporting year a delete is refused (706), while adds are still taken
until March 31: on this directory's system, whose clock is on the seed's January date."""

from __future__ import annotations

import pytest

from tests.integration.validator.test_deletes import add, delete, setup
from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration


def test_delete_after_december_31_of_the_reporting_year_is_706(system: RunningSystem) -> None:
    client, activity = setup(system, 2019)
    added = add(client, activity, "ABO", 2019)  # adds are accepted until March 31, 2020
    assert added["status"] == "Accepted"
    assert [e["code"] for e in delete(client, added["record_id"])["errors"]] == [706]

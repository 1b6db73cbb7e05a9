"""SQL-looking values are data, never SQL: stored and found as typed, nothing else touched."""

from __future__ import annotations

from tests.support.system import RunningSystem

from .helpers import add_learners, learner, register_activity

SQLISH_TITLE = "Course'; DROP TABLE records; --"
SQLISH_NAME = "O'Brien\"); DELETE FROM activities WHERE ('1'='1"


def test_sql_looking_values_are_stored_and_searched_verbatim(system: RunningSystem) -> None:
    with system.client(system.new_provider()["api_key"]) as client:
        activity = register_activity(client, {"ABA": ["ABA MOCA"]}, year=2020, title=SQLISH_TITLE,
                                     provider_activity_id="1' OR '1'='1")
        rows = add_learners(client, activity, "ABA",
                            learner("Robert", SQLISH_NAME, "4000001", "08/08", "02/03/2020", 1, "ABA MOCA"))
        assert rows[0]["status"] == "Submitted", rows  # a valid row: ABA decides later
        found = client.get("/v1/learner-records", params={"last_name": SQLISH_NAME}).json()
        assert [r["last_name"] for r in found["records"]] == [SQLISH_NAME]
        assert client.get("/v1/learner-records", params={"last_name": "x' OR '1'='1"}).json()["total"] == 0
        summary = client.get("/v1/activities", params={"title": "'; DROP TABLE"}).json()
        assert [a["title"] for a in summary["activities"]] == [SQLISH_TITLE]
        assert client.get("/v1/activities", params={"provider_activity_id": "1' OR '1'='1"}).json()["total"] == 1
        assert client.get("/v1/activities", params={"title": "%"}).json()["total"] == 0  # % is literal

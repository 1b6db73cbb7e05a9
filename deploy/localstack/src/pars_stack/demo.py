"""Demo data for `make run`: a provider with a user, activities of this year for several boards,
and a few learner records so every screen has something to show. Idempotent: a second run adds
a new API key for the same provider and leaves the rest."""

from __future__ import annotations

from datetime import date

import httpx

PROVIDER_ID = "1234567"
PROVIDER = {"provider_id": PROVIDER_ID, "name": "Western Regional Medical Center",
            "notification_emails": ["cme-office@wrmc.example.org"], "user_email": "johnny.tester@wrmc.example.org",
            "user_name": "Johnny Tester"}


def activities(year: int) -> list[dict]:
    def activity(title: str, kind: str, provider_activity_id: str, boards: dict[str, list[str]]) -> dict:
        return {"title": title, "activity_type": kind, "provider_activity_id": provider_activity_id,
                "start_date": f"{year}-01-01", "end_date": f"{year}-12-31", "reporting_year": year, "ama_credits": 500,
                "registrations": [{"board": b, "credit_types": t, "max_points": 500} for b, t in boards.items()]}

    return [
        activity("An Other is an Other", "Other", f"TO-{year}0405",
                 {"ABIM": ["ABIM Medical Knowledge", "ABIM Practice Assessment"],
                  "ABPATH": ["ABPath MOC Part II", "ABPath MOC Part IV"]}),
        activity("Annual Meeting for Ophthalmology", "Course", f"AMO-{year}",
                 {"ABO": ["ABO MOC Part II", "ABO Patient Safety"]}),
        activity("North Carolina Course", "Course", f"NC-{year}",
                 {"NC": ["AMA PRA Category 1 Credit", "Controlled Substance"],
                  "ME-MD": ["AMA PRA Category 1 Credit", "Prescribing of Opioid Education"]}),
        activity("Surgery Update", "Internet Live Course", f"SU-{year}",
                 {"ABS": ["ABS Continuous Certification", "ABS Patient Safety"]}),
    ]


def load(intake_url: str, admin_token: str, admin_url: str | None = None) -> dict:
    """`admin_url`: intake's admin port, when it has one."""
    admin = httpx.Client(base_url=admin_url or intake_url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=30)
    created = admin.post("/v1/admin/providers", json=PROVIDER)
    if created.status_code == 409:
        created = admin.post(f"/v1/admin/providers/{PROVIDER_ID}/users",
                             json={"email": PROVIDER["user_email"], "name": PROVIDER["user_name"]})
        first_run = False
    else:
        first_run = True
    created.raise_for_status()
    api_key = created.json()["api_key"]
    client = httpx.Client(base_url=intake_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
    if first_run:
        year = date.today().year
        ids = [client.post("/v1/activities", json=a).raise_for_status().json()["activity_id"] for a in activities(year)]
        client.post(f"/v1/activities/{ids[0]}/learners", json={"board": "ABIM", "learners": [
            {"first_name": "Susan", "last_name": "O'Laughlin", "learner_id": "999925", "date_of_birth": "01/01",
             "completion_date": f"01/11/{year}", "credits": "0.25", "credit_types": ["ABIM Medical Knowledge"]},
            {"first_name": "Test11", "last_name": "Account11", "learner_id": "1000104", "date_of_birth": "01/01",
             "completion_date": f"02/01/{year}", "credits": "2", "credit_types": ["ABIM Medical Knowledge"]},
        ]}).raise_for_status()
        client.post(f"/v1/activities/{ids[1]}/learners", json={"board": "ABO", "learners": [
            {"first_name": "Vincent", "last_name": "Van Gogh", "learner_id": "98989", "date_of_birth": "03/30",
             "completion_date": f"02/10/{year}", "credits": "0.25", "credit_types": ["ABO MOC Part II"]},
        ]}).raise_for_status()
    activity_list = client.get("/v1/activities").raise_for_status().json()["activities"]
    return {"api_key": api_key, "provider_id": PROVIDER_ID, "activities": activity_list}

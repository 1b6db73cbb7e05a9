"""The seed's learner-reporting workflows end to end (docs/seed-decisions.md)."""

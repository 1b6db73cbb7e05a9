"""The rules intake's API (`api/`) and portal (`portal/`) both apply, so that neither imports the
other: API keys, notification recipients, Learner Search's criteria, Upload History, CSV exports.
Each answers in plain values or its own exceptions; the routes turn them into HTTP answers or pages."""

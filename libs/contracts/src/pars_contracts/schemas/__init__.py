"""Snapshots of every event payload's JSON schema at each of its versions, `<Event>.v<N>.json`,
with example payloads of that version. Recorded by `python -m pars_contracts.compat --write` and
checked by `python -m pars_contracts.compat` (see `compat.py`): never edited by hand."""

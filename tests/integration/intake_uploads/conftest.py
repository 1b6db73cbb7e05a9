"""One system for the upload tests, its clock on the seed's date (01/16/2020): the seed's 2019
activities still take learners (reporting year 2019 closes on 03/31/2020). The reporting year's
close for deletes (706) needs the same January clock, so its test lives here too (a system costs
about 6 s of two cores to start)."""

from __future__ import annotations

from tests.support.system import running_system

system = running_system("uploads", scope="package", PARS_CLOCK_START="2020-01-16", BOARD_TIME_SCALE="3600")

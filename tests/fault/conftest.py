"""The fault tests' one system: they stop PostgreSQL and kill services, so it is not the shared
one; both need the same settings, so they share it (a system costs about 9 s to start and stop).
Today is the last day of the year, so every day of it is a valid completion date."""

from tests.support.system import YEAR, running_system

system = running_system("fault", scope="package", BOARD_TIME_SCALE="3600", PARS_CLOCK_START=f"{YEAR}-12-31")

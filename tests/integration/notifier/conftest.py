"""One PARS system for the notifier's tests (they kill its notifier and stop the session's SMTP
catcher, one test at a time). Retries are capped at one second so an outage ends quickly, and the
system's clock is shifted (to March 2 of this year): e-mails wait and are retried in real time."""

from __future__ import annotations

from datetime import date

from tests.support.system import running_system

# ABIM runs every four simulated hours (4 s here), not every hour (a real second): a `?wait=` answer
# then shows its first answer, Submitted, instead of racing the next run on a busy machine.
system = running_system("notifier", scope="package", BOARD_TIME_SCALE="3600", BOARD_SCHEDULE='{"ABIM": 4}',
                        EMAIL_RETRY_MAX_SECONDS="1", PARS_CLOCK_START=f"{date.today().year}-03-02")

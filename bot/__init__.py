"""Cabildo: a Telegram bot for municipal accountability and citizen dialogue."""

import os

# Opt in now to PTB 23's behaviour: durations (e.g. RetryAfter.retry_after) as timedelta.
os.environ.setdefault("PTB_TIMEDELTA", "1")

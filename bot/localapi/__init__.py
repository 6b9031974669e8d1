"""An in-process stand-in for the Telegram Bot API.

It serves the local terminal chat (`LocalRequest`, no network at all), the end-to-end tests
(`LocalBotAPIServer`, real HTTP on 127.0.0.1 that PTB talks to through its own HTTP stack),
and the broadcast benchmarks. It records every call, keeps each chat's messages as they are
after edits, plays any number of users and groups, and can be told to fail the way Telegram
fails (`fail`): 429 with retry_after, 403 blocked, 400, 5xx before acceptance, no answer in
time (`timeout`: the call is not carried out), a send Telegram carries out but answers only
after the client's read timeout (`slow_accept`), and a connection refused (`connect_error`).
"""

from bot.localapi.calls import Call
from bot.localapi.methods import LocalBotAPI
from bot.localapi.server import LocalBotAPIServer, LocalRequest
from bot.localapi.state import LocalUser

__all__ = ["Call", "LocalBotAPI", "LocalBotAPIServer", "LocalRequest", "LocalUser"]

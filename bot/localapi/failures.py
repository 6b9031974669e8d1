"""Failures on demand: the next calls fail the way Telegram fails (`fail`), and chats the
bot can no longer reach refuse its messages as Telegram does."""

from __future__ import annotations

from bot.localapi.calls import (
    _KINDS,
    _METHODS,
    ApiError,
    Call,
    SimulatedConnectError,
    SimulatedTimeout,
    _chat_id_of,
    _Failure,
)
from bot.localapi.state import ApiState


class FailingApi(ApiState):
    """The Bot API's memory, with the failures a test asked for."""

    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        chat_id: int | None = None,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next `times` matching calls fail with `error` (one of `_KINDS`).

        `slow_accept` carries the call out (a message is stored and the call recorded as
        accepted) and answers after the client gave up waiting; `timeout` does not carry it
        out; `connect_error` is a refused connection in-process, and 503 over HTTP (a 5xx
        before acceptance: the server cannot refuse a connection it already took).
        """
        if error not in _KINDS:
            raise ValueError(f"unknown error kind {error!r}")
        canonical = _METHODS.get(method.lower(), method)
        self._failures.append(_Failure(canonical, error, times, chat_id, retry_after, description))

    def _inject_failure(self, call: Call) -> bool:
        """Raise the failure set for this call, if any; return True for a slow acceptance."""
        chat_id = _chat_id_of(call.params)
        for rule in self._failures:
            if rule.method != call.method or rule.times <= 0:
                continue
            if rule.chat_id is not None and rule.chat_id != chat_id:
                continue
            rule.times -= 1
            if rule.error == "slow_accept":
                return True
            if rule.error == "connect_error":
                raise SimulatedConnectError()
            if rule.error == "timeout":
                raise SimulatedTimeout()
            if rule.error == "retry_after":
                raise ApiError(
                    429,
                    rule.description or f"Too Many Requests: retry after {rule.retry_after}",
                    {"retry_after": rule.retry_after},
                )
            if rule.error == "forbidden":
                raise ApiError(403, rule.description or "Forbidden: bot was blocked by the user")
            if rule.error == "bad_request":
                raise ApiError(400, rule.description or "Bad Request: simulated failure")
            raise ApiError(502, rule.description or "Bad Gateway")
        return False

    def _refuse_unreachable(self, call: Call) -> None:
        """Answer like Telegram when the bot writes where it no longer can."""
        chat_id = _chat_id_of(call.params)
        if chat_id is None or not call.method.startswith(("send", "edit")):
            return
        if chat_id in self._blocked_by:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self._left_groups:
            raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")
        if chat_id in self._migrated:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           {"migrate_to_chat_id": self._migrated[chat_id]})

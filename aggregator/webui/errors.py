"""The web UI's errors, in the aggregator's tree (:mod:`aggregator.errors`).

Both are a request the UI refuses — rejected input, not trouble with the environment — so they
are :class:`~aggregator.errors.Rejected`. The app turns them into a page
(:mod:`aggregator.webui.app`): :class:`Forbidden` into a 403 naming why, :class:`LoginNeeded` into
a redirect to the login page that comes back to the requested one.
"""

from __future__ import annotations

from ..errors import Rejected


class Forbidden(Rejected):
    """The request is not allowed (bad CSRF token, wrong role); ``key`` is the message's key in
    the catalogue (:mod:`aggregator.webui.i18n`)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class LoginNeeded(Rejected):
    """The page needs a login: redirect to ``login``, then back to ``next_path``."""

    def __init__(self, login: str, next_path: str) -> None:
        super().__init__(login)
        self.login = login
        self.next_path = next_path


__all__ = ["Forbidden", "LoginNeeded"]

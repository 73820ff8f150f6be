"""One way every dashboard form works: read the fields, call a service, then redirect with
the service's answer, or show the page again with the refusal beside the field it is about.

The services check everything before they write, so a refused form changes nothing; what
the member typed is kept in the form. Refusals are the services' own :class:`UserFacingError`
texts, the same words the slash commands answer with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from dashboard.app import form_of, login_required, member_session
from domain.errors import UserFacingError

#: Longest text accepted in any field; longer is refused before a service sees it.
MAX_FIELD = 100


class FieldError(UserFacingError):
    """A refusal about one field of the form (``UserFacingError`` alone: the form's main one)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def field(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if len(value) > MAX_FIELD:
        raise FieldError(name, f"That is too long (at most {MAX_FIELD} characters).")
    return value.strip()


def blamed(field_name: str, check: Callable[[str], Any], value: str) -> None:
    """Run one of the service's own parsers on one field, so a refusal names that field."""
    try:
        check(value)
    except UserFacingError as error:
        raise FieldError(field_name, str(error)) from None


class Page(Protocol):
    def __call__(
        self,
        request: web.Request,
        *,
        status: int = 200,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        preview: Any = None,
    ) -> Awaitable[web.StreamResponse]: ...


#: ``action(request, user_id, form)`` returns the confirmation to show, or something to
#: preview on the page without a redirect.
Action = Callable[[web.Request, int, dict[str, str]], Awaitable[Any]]


def form_action(
    form_id: str, default_field: str, action: Action, page: Page, back: Callable[[web.Request], str]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @login_required
    async def handler(request: web.Request) -> web.StreamResponse:
        session = member_session(request)
        form = form_of(request)
        assert session.user_id is not None
        values = {f"{form_id}.{k}": v[:MAX_FIELD] for k, v in form.items() if k != "csrf"}
        try:
            result = await action(request, session.user_id, form)
        except UserFacingError as error:
            name = error.field if isinstance(error, FieldError) else default_field
            return await page(
                request, status=400, errors={f"{form_id}.{name}": str(error)}, values=values
            )
        if not isinstance(result, str):  # a preview: show it, change nothing
            return await page(request, values=values, preview=result)
        session.flash = result
        raise web.HTTPSeeOther(back(request))

    return handler

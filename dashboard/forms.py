"""One way every dashboard form works: read the fields, call a service, then redirect with
the service's answer, or show the page again with the refusal beside the field it is about.

The services check everything before they write, so a refused form changes nothing; what
the member typed is kept in the form. Refusals are the services' own :class:`UserFacingError`
texts, the same words the slash commands answer with; one that refuses a value names its input
(:class:`~domain.errors.FieldError`), so the message goes beside that field without the form
running any parser of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from dashboard.app import form_of, login_required, member_session
from domain.errors import FieldError, UserFacingError

#: Longest text accepted in any field; longer is refused before a service sees it.
MAX_FIELD = 100


def field(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if len(value) > MAX_FIELD:
        raise FieldError(name, f"That is too long (at most {MAX_FIELD} characters).")
    return value.strip()


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
#: A service's name for an input (``time``) to the form's field it is (``hydration-time``).
FieldNames = Callable[[dict[str, str]], dict[str, str]]


def form_action(
    form_id: str,
    default_field: str,
    action: Action,
    page: Page,
    back: Callable[[web.Request], str],
    fields: FieldNames = lambda form: {},
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A refusal naming an input goes beside that field (``fields`` renames the inputs whose
    form field is called otherwise); any other refusal beside ``default_field``."""

    @login_required
    async def handler(request: web.Request) -> web.StreamResponse:
        session = member_session(request)
        form = form_of(request)
        assert session.user_id is not None
        values = {f"{form_id}.{k}": v[:MAX_FIELD] for k, v in form.items() if k != "csrf"}
        try:
            result = await action(request, session.user_id, form)
        except UserFacingError as error:
            name = default_field
            if isinstance(error, FieldError) and error.field in form:
                name = fields(form).get(error.field, error.field)
            return await page(
                request, status=400, errors={f"{form_id}.{name}": str(error)}, values=values
            )
        if not isinstance(result, str):  # a preview: show it, change nothing
            return await page(request, values=values, preview=result)
        session.flash = result
        raise web.HTTPSeeOther(back(request))

    return handler

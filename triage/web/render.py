"""One Jinja environment for the staff pages: autoescape on, member text only ever a variable."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from triage.masking import mask_value
from triage.web.context import language
from triage.web.i18n import translate

JST: Final = dt.timezone(dt.timedelta(hours=9))

ENV: Final = jinja2.Environment(
    loader=jinja2.PackageLoader("triage.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _local(value: dt.datetime | None) -> str:
    """A time as desk staff read it: Japan time, to the minute."""
    return value.astimezone(JST).strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _mask(text: str, field: str) -> str:
    return mask_value(field, text, sensitive=True)


ENV.filters["local"] = _local
ENV.filters["mask"] = _mask


def page(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    lang = language(request)
    current = request.scope.get("state", {}).get("staff")

    def t(key: str, **params: object) -> str:
        return translate(lang, key, **params)

    html = ENV.get_template(template).render(
        t=t, lang=lang, staff=current, csrf_token=current.csrf_token if current else "", **values
    )
    return HTMLResponse(html, status_code=status_code)

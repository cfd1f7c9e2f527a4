"""The `claims review serve` web app: claims in their evidence, verdicts by keyboard.

A small Starlette app over a run's output folder. It only reads the Parquet tables; verdicts
go to the SQLite history of `pipeline.review.verdicts`. Article text is untrusted: templates
autoescape everything, the Content-Security-Policy allows no inline script, forms carry a
CSRF token checked against a cookie and the request's origin, the host header must be a
loopback name when bound to loopback (no DNS rebinding), and `token` guards every route.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
import pandas as pd
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pipeline.nlp.strength import FLAG_EXPLANATION
from pipeline.review.data import (
    CERTAINTIES,
    FLAG_COLUMNS,
    FLAG_LABELS,
    SORTS,
    STATUSES,
    STRENGTH_LABELS,
    Filters,
    TableCache,
    TablesUnavailable,
    apply_filters,
    claim_context,
    claim_statuses,
    document_titles,
    facet_counts,
    flag_count,
    in_order,
    neighbours,
    next_todo,
    plain_rows,
    snippet,
    without_references,
)
from pipeline.review.summary import ROLE_DEFINITION, summarise
from pipeline.review.verdicts import (
    REASONS,
    VerdictError,
    VerdictStore,
    clean_reviewer,
    default_db_path,
)
from pipeline.storage.claim_summary import CONTESTED_EXPLANATION

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 50
FACET_LIMIT = 300  # options per filter: the most frequent (a list page stays small)
MAX_FORM_BYTES = 64 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
COOKIE_REVIEWER = "claims_reviewer"
COOKIE_CSRF = "claims_csrf"
COOKIE_TOKEN = "claims_token"
# No inline script or style anywhere: an injected <script> or onerror= cannot run even if
# escaping were ever missed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make forms send `Origin: null`
    "Cache-Control": "no-store",
}
FILTER_LABELS = {
    "substance": "Substance",
    "target": "Target",
    "effect": "Effect",
    "polarity": "Polarity",
    "certainty": "Hedged / negated",
    "strength": "Strength",
    "flagged": "Causal from observational",
    "contested": "Contested",
    "doc": "Document",
    "rule": "Rule",
    "status": "Review status",
}


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


@dataclass(frozen=True)
class Settings:
    tables_dir: Path
    db_path: Path
    token: str | None
    allowed_hosts: tuple[str, ...] | None  # None: any host (bound elsewhere, token required)


def create_app(
    tables_dir: Path | str,
    db_path: Path | str | None = None,
    token: str | None = None,
    bind_host: str = "127.0.0.1",
) -> Starlette:
    """The review app for one output folder; verdicts default to `<tables>/reviews.sqlite`."""
    tables_dir = Path(tables_dir)
    loopback = is_loopback(bind_host)
    if not loopback and not token:
        raise ValueError(f"bound to {bind_host}, the review app needs an access token")
    settings = Settings(
        tables_dir=tables_dir,
        db_path=Path(db_path) if db_path else default_db_path(tables_dir),
        token=token or None,
        allowed_hosts=tuple(dict.fromkeys([*LOOPBACK_HOSTS, bind_host])) if loopback else None,
    )
    pages = _Pages(settings)
    routes = [
        Route("/", pages.claims_list),
        Route("/claims/{claim_id:str}", pages.claim_view),
        Route("/claims/{claim_id:str}/verdict", pages.record_verdict, methods=["POST"]),
        Route("/next", pages.next_claim),
        Route("/reviewer", pages.set_reviewer, methods=["POST"]),
        Route("/summary", pages.summary),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [Middleware(_Guard, settings=settings, render=pages.render)]
    if settings.allowed_hosts is not None:
        middleware.insert(
            0,
            Middleware(
                TrustedHostMiddleware,
                allowed_hosts=list(settings.allowed_hosts),
                www_redirect=False,
            ),
        )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: pages.not_found, 500: pages.server_error},
    )
    app.state.settings = settings
    return app


class _Guard(BaseHTTPMiddleware):
    """Access token on every route, a CSRF cookie for forms, security headers on answers."""

    def __init__(self, app, settings: Settings, render: Callable[..., HTMLResponse]):
        super().__init__(app)
        self.settings = settings
        self.render = render

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        token = self.settings.token
        if token:
            given = request.query_params.get("token")
            if given is not None and secrets.compare_digest(given.encode(), token.encode()):
                # Trade the token in the URL for a cookie, then drop it from the address bar.
                query = urlencode(
                    [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                )
                path = local_path("/" + request.url.path.lstrip("/"))
                response: Response = RedirectResponse(
                    path + (f"?{query}" if query else ""), status_code=303
                )
                response.set_cookie(COOKIE_TOKEN, token, httponly=True, samesite="strict", path="/")
                return _secured(response)
            if not _has_token(request, token):
                return _secured(
                    self.render(
                        request,
                        "message.html",
                        status_code=401,
                        heading="Access token required",
                        message="This review app is protected by an access token. Open the "
                        "address printed when it started (it ends in ?token=...), or send "
                        "the header `Authorization: Bearer <token>`.",
                        csrf="",
                        tables_dir="",  # nothing about the server before the token
                    )
                )
        csrf = request.cookies.get(COOKIE_CSRF)
        new_csrf = None
        if not csrf:
            csrf = new_csrf = secrets.token_urlsafe(24)
        request.state.csrf = csrf
        response = await call_next(request)
        if new_csrf:
            response.set_cookie(COOKIE_CSRF, new_csrf, httponly=True, samesite="strict", path="/")
        return _secured(response)


def _has_token(request: Request, token: str) -> bool:
    candidates = [request.cookies.get(COOKIE_TOKEN, "")]
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        candidates.append(authorization[7:].strip())
    return any(secrets.compare_digest(c.encode(), token.encode()) for c in candidates if c)


def _secured(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class _Pages:
    """The app's pages; each reads the tables through the cache and verdicts from SQLite."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.tables = TableCache(settings.tables_dir)
        self.verdicts = VerdictStore(settings.db_path)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,  # every value is escaped unless a template says otherwise
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["percent"] = _percent
        self.templates.filters["unref"] = without_references  # "rate [citation needed"

    # Rendering ---------------------------------------------------------------------------

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: object
    ) -> HTMLResponse:
        context.setdefault("csrf", getattr(request.state, "csrf", ""))
        context.setdefault("reviewer", reviewer_of(request))
        context.setdefault("tables_dir", str(self.settings.tables_dir))
        query = request.url.query
        here = request.url.path + (f"?{query}" if query else "")
        # After a failed POST, naming oneself goes back to the list, not to the POST's URL.
        context.setdefault("here", here if request.method == "GET" else "/")
        html = self.templates.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status_code)

    def message(
        self, request: Request, heading: str, message: str, status_code: int = 200
    ) -> HTMLResponse:
        return self.render(
            request, "message.html", status_code=status_code, heading=heading, message=message
        )

    def unavailable(self, request: Request, error: TablesUnavailable) -> HTMLResponse:
        return self.message(request, "No claims to review", str(error), status_code=503)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.message(request, "Not found", f"Nothing here: {request.url.path}", 404)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        return _secured(
            self.message(
                request,
                "Something went wrong",
                f"{type(exc).__name__}: {exc}. The verdicts recorded so far are safe.",
                500,
            )
        )

    # Shared state of a request -----------------------------------------------------------

    def _claims_with_status(self, request: Request, sort: str = ""):
        """The tables, and the claims with their review status (for this reviewer too),
        `order` following `sort` (a key of SORTS)."""
        data = self.tables.get()
        latest = self.verdicts.latest_verdicts()
        statuses = claim_statuses(data.claims["claim_id"], latest, reviewer_of(request))
        claims = data.claims.merge(statuses, on="claim_id", how="left")
        return data, in_order(claims, sort)

    # Pages -------------------------------------------------------------------------------

    def claims_list(self, request: Request) -> Response:
        filters = Filters.from_query(request.query_params)
        try:
            data, claims = self._claims_with_status(request, filters.sort)
        except TablesUnavailable as error:
            return self.unavailable(request, error)
        if data.empty:
            return self.message(
                request,
                "No claims yet",
                f"The tables in {self.settings.tables_dir} hold no claims: the run found none, "
                "or every article failed (see the `errors` table).",
            )
        selected = apply_filters(claims, filters).sort_values("order")
        pages = max(1, math.ceil(len(selected) / PAGE_SIZE))
        page = min(max(_int(request.query_params.get("page"), 1), 1), pages)
        rows = selected.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        titles = document_titles(data.documents)
        where = data.documents["site"].fillna(data.documents["where"])
        facets = {}
        for name in FILTER_LABELS:
            options = facet_counts(claims, filters, name, limit=FACET_LIMIT)
            if name == "doc":  # same-titled articles of different sites apart
                options = [
                    (v, n, _document_label(titles.get(v, v), where.get(v))) for v, n in options
                ]
            elif name == "status":
                options = [(v, n, STATUSES[v]) for v, n in options]
            elif name == "certainty":
                options = [(v, n, CERTAINTIES[v]) for v, n in options]
            elif name == "strength":
                options = [(v, n, STRENGTH_LABELS.get(v, v)) for v, n in options]
            elif name in FLAG_COLUMNS:
                options = [(v, n, FLAG_LABELS[name][v]) for v, n in options]
            else:
                options = [(v, n, v) for v, n in options]
            facets[name] = options
        return self.render(
            request,
            "list.html",
            filters=filters,
            facets=facets,
            labels=FILTER_LABELS,
            facet_limit=FACET_LIMIT,
            rows=[{**row, "snippet": snippet(row)} for row in plain_rows(rows)],
            sorts=SORTS,
            has_confidence=bool(claims["confidence"].notna().any()),
            total=len(claims),
            selected=len(selected),
            mine=int(selected["my_verdict"].notna().sum()),
            disputed=int((selected["status"] == "disputed").sum()),
            unreviewed=int((selected["status"] == "unreviewed").sum()),
            flagged=flag_count(selected, "flagged"),
            contested=flag_count(selected, "contested"),
            summary_note=data.summary_note,
            strength_labels=STRENGTH_LABELS,
            flag_explanation=FLAG_EXPLANATION,
            contested_explanation=CONTESTED_EXPLANATION,
            page=page,
            pages=pages,
            page_size=PAGE_SIZE,
            done=request.query_params.get("done") == "1",
        )

    def claim_view(self, request: Request) -> Response:
        claim_id = request.path_params["claim_id"]
        filters = Filters.from_query(request.query_params)
        try:
            data, claims = self._claims_with_status(request, filters.sort)
        except TablesUnavailable as error:
            return self.unavailable(request, error)
        claim = data.claim(claim_id)
        history = self.verdicts.history(claim_id)
        if claim is None:
            return self.render(
                request, "gone.html", status_code=404, claim_id=claim_id, history=history
            )
        order = _order_of(claims, claim_id)
        selected = apply_filters(claims, filters).sort_values("order")
        previous_id, next_id = neighbours(selected, order)
        position = int((selected["order"] < order).sum()) + 1
        in_selection = bool((selected["claim_id"] == claim_id).any())
        reviewer = reviewer_of(request)
        mine = next((v for v in reversed(history) if v.reviewer == reviewer), None)
        saved_id = request.query_params.get("saved")
        return self.render(
            request,
            "claim.html",
            context=claim_context(data, claim),
            sorts=SORTS,
            claim=claim,
            filters=filters,
            previous_id=previous_id,
            next_id=next_id,
            position=position,
            selected=len(selected),
            in_selection=in_selection,
            history=history,
            mine=mine,
            reasons=REASONS,
            saved=saved_id if saved_id and data.claim(saved_id) is not None else None,
            agreement=data.agreement(claim),
            summary_note=data.summary_note,
            strength_labels=STRENGTH_LABELS,
            flag_explanation=FLAG_EXPLANATION,
            contested_explanation=CONTESTED_EXPLANATION,
        )

    async def record_verdict(self, request: Request) -> Response:
        form = await _form(request)
        if isinstance(form, Response):
            return form
        return await run_in_threadpool(self._record_verdict, request, form)

    def _record_verdict(self, request: Request, form: dict[str, list[str]]) -> Response:
        refused = self._check_csrf(request, form)
        if refused:
            return refused
        reviewer = reviewer_of(request)
        if not reviewer:
            return self.message(request, "Who is reviewing?", "Enter your name first.", 400)
        try:
            data = self.tables.get()
        except TablesUnavailable as error:
            return self.unavailable(request, error)
        claim = data.claim(request.path_params["claim_id"])
        if claim is None:
            return self.message(request, "Not found", "That claim is not in the tables.", 404)
        verdict = _first(form, "verdict")
        # Ticked reasons stay in the form when the reviewer then presses "correct".
        reasons = form.get("reason", []) if verdict == "incorrect" else []
        try:
            self.verdicts.record(claim, reviewer, verdict, reasons, _first(form, "comment"))
        except VerdictError as error:
            return self.message(request, "Verdict not recorded", str(error), 400)
        except sqlite3.OperationalError as error:  # locked beyond the busy timeout, disk full
            return self.message(
                request,
                "Verdict not recorded",
                f"The verdict database is busy or unwritable ({error}). Nothing was saved; "
                "go back and try again.",
                503,
            )
        filters = Filters.from_query({k: _first(form, k) for k in form})
        _, claims = self._claims_with_status(request, filters.sort)
        order = _order_of(claims, claim["claim_id"])
        return _to_next_todo(claims, filters, order, saved=claim["claim_id"])

    def next_claim(self, request: Request) -> Response:
        filters = Filters.from_query(request.query_params)
        try:
            _, claims = self._claims_with_status(request, filters.sort)
        except TablesUnavailable as error:
            return self.unavailable(request, error)
        after = request.query_params.get("after")
        return _to_next_todo(claims, filters, _order_of(claims, after) if after else None)

    async def set_reviewer(self, request: Request) -> Response:
        form = await _form(request)
        if isinstance(form, Response):
            return form
        refused = self._check_csrf(request, form)
        if refused:
            return refused
        try:
            name = clean_reviewer(" ".join(_first(form, "reviewer").split()))
        except VerdictError as error:
            return self.message(request, "Name not accepted", str(error), 400)
        response = RedirectResponse(local_path(_first(form, "next")), status_code=303)
        encoded = base64.urlsafe_b64encode(name.encode()).decode()
        response.set_cookie(
            COOKIE_REVIEWER, encoded, max_age=365 * 86400, httponly=True, samesite="strict"
        )
        return response

    def summary(self, request: Request) -> Response:
        try:
            data = self.tables.get()
        except TablesUnavailable as error:
            return self.unavailable(request, error)
        figures = summarise(self.verdicts.latest(), data.claims)
        return self.render(
            request,
            "summary.html",
            summary=figures,
            reasons=REASONS,
            role_definition=ROLE_DEFINITION,
            db_path=str(self.settings.db_path),
        )

    # Checks -------------------------------------------------------------------------------

    def _check_csrf(self, request: Request, form: dict[str, list[str]]) -> Response | None:
        """Refuse a form that another site made the browser send."""
        cookie = request.cookies.get(COOKIE_CSRF, "")
        sent = _first(form, "csrf")
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        fetch_site = request.headers.get("sec-fetch-site", "same-origin")
        valid = (
            bool(cookie and sent)
            and secrets.compare_digest(cookie.encode(), sent.encode())
            and (origin is None or origin == own)
            and fetch_site in ("same-origin", "none")
        )
        if valid:
            return None
        return self.message(
            request,
            "Form refused",
            "This form did not come from this app's own page (or the page is too old). "
            "Reload the page and try again.",
            403,
        )


def _to_next_todo(
    claims: pd.DataFrame, filters: Filters, order: int | None, saved: str | None = None
) -> Response:
    """Redirect to the reviewer's next unjudged claim of the selection, or to the list."""
    following = next_todo(apply_filters(claims, filters).sort_values("order"), order)
    if following is None:
        return RedirectResponse(f"/?{filters.query(done=1)}", status_code=303)
    return RedirectResponse(f"/claims/{following}?{filters.query(saved=saved)}", status_code=303)


def _document_label(title: str, where: str | None) -> str:
    """A document as the filter lists it: its title (cut), then its site or file."""
    title = str(title)
    short = title if len(title) <= 45 else title[:44] + "…"
    return short if not where or where == title else f"{short} · {where}"


def _order_of(claims: pd.DataFrame, claim_id: str) -> int | None:
    """A claim's position in `claims`' current order, None when it is not there."""
    rows = claims.loc[claims["claim_id"] == claim_id, "order"]
    return int(rows.iloc[0]) if len(rows) else None


def reviewer_of(request: Request) -> str | None:
    """The reviewer's name from their cookie, None until they give one."""
    raw = request.cookies.get(COOKIE_REVIEWER)
    if not raw:
        return None
    try:
        return clean_reviewer(base64.urlsafe_b64decode(raw.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):  # VerdictError is a ValueError
        return None


def local_path(target: str) -> str:
    """`target` if it is a path on this app, else "/": redirects never leave the app."""
    if not target.startswith("/") or target.startswith(("//", "/\\")) or urlsplit(target).netloc:
        return "/"
    return target


async def _form(request: Request) -> dict[str, list[str]] | Response:
    """A url-encoded form, bounded in size (no multipart: the app's forms never upload)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return Response("Form too large", status_code=413)
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def _first(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _percent(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:.1f}%"

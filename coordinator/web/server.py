"""The dashboard's web server (aiohttp): the page, one WebSocket per open page fed once a second
(BATCH_S: however many events and reports arrive, a page gets one message a second), the
reports of finished runs (JSON as ``callfleet load --report`` writes it, CSV as ``--csv``, HTML
as ``--html``), and the control requests, refused for a read-only page.

The page asks for what it wants over its WebSocket: ``{"watch": RUN}`` (the run it shows) and
``{"filter": EXPRS, "exclude": EXPRS}`` (its events, as ``callfleet events`` filters them)."""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from jinja2 import Environment, PackageLoader, select_autoescape

from coordinator.client.errors import Error
from coordinator.web import form, views
from coordinator.web.runstate import csv_text, full_report
from coordinator.web.security import COOKIE, CSRF_HEADER, Guard
from coordinator.web.source import Source
from coordinator.web.tail import make_filter

log = logging.getLogger("callfleet.web")

#: seconds between two updates of a page
BATCH_S = 1.0
#: seconds a page may take to accept an update before it is dropped (it reconnects)
SEND_TIMEOUT_S = 5.0
STATIC = Path(__file__).with_name("static")
_ENV = Environment(loader=PackageLoader("coordinator.web", "templates"),
                   autoescape=select_autoescape(("html", "j2")))
#: the page's resources come from the dashboard alone (no CDN, no inline script)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")

PAGES: web.AppKey[weakref.WeakKeyDictionary[web.WebSocketResponse, views.PageState]] = \
    web.AppKey("pages")


def _json_error(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)


class Dashboard:
    def __init__(self, source: Source, guard: Guard, coordinator_url: str) -> None:
        self.source, self.dash, self.guard = source, source.dash, guard
        self.coordinator_url = coordinator_url

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guarded])
        app[PAGES] = weakref.WeakKeyDictionary()
        app.router.add_get("/", self.index)
        app.router.add_get("/login", self.login_page)
        app.router.add_post("/login", self.login)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/api/state", self.state)
        app.router.add_get("/runs/{run}/report.{kind}", self.download)
        app.router.add_post("/api/runs", self.start_run)
        app.router.add_post("/api/runs/{run}/rate", self.set_rate)
        app.router.add_post("/api/runs/{run}/stop", self.stop_run)
        app.router.add_static("/static", STATIC)
        app.cleanup_ctx.append(self._batches)
        return app

    # -- guards ------------------------------------------------------------------------------
    @web.middleware
    async def _guarded(self, request: web.Request, handler: Any) -> web.StreamResponse:
        g = self.guard
        if not g.host_ok(request.host):
            return _json_error(403, "this dashboard answers to loopback names only")
        public = request.path == "/login" or request.path.startswith("/static/")
        if not public and not g.authorised(
                request.headers.get("Authorization", ""), request.cookies.get(COOKIE, "")):
            if request.method == "GET" and request.path == "/":
                raise web.HTTPSeeOther("/login")
            return web.json_response({"error": "a token is required"}, status=401,
                                     headers={"WWW-Authenticate": "Bearer"})
        if request.method == "POST" and request.path != "/login":
            if not g.origin_ok(request.headers.get("Origin", ""), request.scheme, request.host):
                return _json_error(403, "cross-origin request refused")
            if not g.csrf_ok(request.headers.get(CSRF_HEADER, "")):
                return _json_error(403, f"missing or wrong {CSRF_HEADER}")
        response: web.StreamResponse = await handler(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    # -- pages -------------------------------------------------------------------------------
    async def index(self, request: web.Request) -> web.Response:
        html = _ENV.get_template("index.html.j2").render(csrf=self.guard.csrf,
                                                         coordinator=self.coordinator_url)
        return web.Response(text=html, content_type="text/html")

    async def login_page(self, request: web.Request) -> web.Response:
        wrong = request.query.get("wrong") == "1"
        html = _ENV.get_template("login.html.j2").render(wrong=wrong)
        return web.Response(text=html, content_type="text/html")

    async def login(self, request: web.Request) -> web.Response:
        data = await request.post()
        if not self.guard.token_matches(str(data.get("token", ""))):
            raise web.HTTPSeeOther("/login?wrong=1")
        response = web.HTTPSeeOther("/")
        response.set_cookie(COOKIE, self.guard.session, httponly=True, samesite="Strict")
        raise response

    async def state(self, request: web.Request) -> web.Response:
        """The update a page would get now, for the run asked (``?run=``), all its rows."""
        page = views.PageState(watch=request.query.get("run", ""))
        with self.dash.lock:
            body = views.update(self.dash, page)
        return web.json_response(body)

    async def download(self, request: web.Request) -> web.Response:
        run, kind = request.match_info["run"], request.match_info["kind"]
        with self.dash.lock:
            view = self.dash.runs.runs.get(run)
            report = full_report(view) if view is not None else None
            text = csv_text(view) if view is not None and kind == "csv" else ""
        if view is None:
            return _json_error(404, f"no run {run} here")
        name = f"callfleet-{run}.{kind}"
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        if kind == "csv":
            return web.Response(text=text, content_type="text/csv", headers=disposition)
        if report is None or kind not in ("json", "html"):
            return _json_error(404, f"run {run} has no {kind} report (yet)")
        if kind == "json":
            return web.Response(text=json.dumps(report, indent=2) + "\n",
                                content_type="application/json", headers=disposition)
        from coordinator.cli.htmlreport import render  # matplotlib: only when asked

        html = await asyncio.get_running_loop().run_in_executor(None, render, report)
        return web.Response(text=html, content_type="text/html")

    # -- control -----------------------------------------------------------------------------
    def _refused(self) -> web.Response | None:
        with self.dash.lock:
            read_only, why = self.dash.read_only, self.dash.read_only_why
        if read_only is None:
            return _json_error(503, "the coordinator has not answered yet")
        return _json_error(403, f"read-only: {why}") if read_only else None

    async def _call(self, fn: Any, *args: Any) -> web.Response:
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, fn, *args)
        except Error as exc:
            status = 403 if exc.err_code == "E_FORBIDDEN" else 404 \
                if exc.err_code == "E_NOT_FOUND" else 502
            return _json_error(status, f"{exc.err_code}: {exc.err_msg}")
        return web.json_response({"ok": True, "result": result})

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="expected a JSON object") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        return body

    async def start_run(self, request: web.Request) -> web.Response:
        refused = self._refused()
        if refused is not None:
            return refused
        try:
            profile, criteria = form.read(await self._body(request))
        except form.FormError as exc:
            return _json_error(400, str(exc))
        return await self._call(self.source.start_run, profile, criteria)

    async def set_rate(self, request: web.Request) -> web.Response:
        refused = self._refused()
        if refused is not None:
            return refused
        rate = (await self._body(request)).get("rate")
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1e5:
            return _json_error(400, "rate: a number of calls per second, 0 to 100000")
        return await self._call(self.source.set_rate, request.match_info["run"], float(rate))

    async def stop_run(self, request: web.Request) -> web.Response:
        refused = self._refused()
        if refused is not None:
            return refused
        return await self._call(self.source.stop_run, request.match_info["run"])

    # -- live updates ------------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self.guard.origin_ok(request.headers.get("Origin", ""), request.scheme,
                                    request.host):
            raise web.HTTPForbidden(text="cross-origin WebSocket refused")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        page = views.PageState()
        request.app[PAGES][ws] = page
        await self._send(ws, page, views.EVENTS_ON_FILTER)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            reply = self._asked(page, msg.data)
            if reply:
                await ws.send_json(reply)
            await self._send(ws, page, views.EVENTS_ON_FILTER)
        request.app[PAGES].pop(ws, None)
        return ws

    def _asked(self, page: views.PageState, text: str) -> dict[str, Any] | None:
        """A page's wish; an error to show it, or None."""
        try:
            wish = json.loads(text)
        except json.JSONDecodeError:
            return {"type": "error", "error": "not JSON"}
        if not isinstance(wish, dict):
            return {"type": "error", "error": "not a JSON object"}
        if "watch" in wish:
            page.watch, page.rows_sent, page.rows_state = str(wish["watch"] or ""), 0, ""
        if "filter" in wish or "exclude" in wish:
            try:
                page.sub = make_filter(str(wish.get("filter") or ""),
                                       str(wish.get("exclude") or ""))
            except ValueError as exc:
                return {"type": "filter", "error": str(exc)}
            page.events_after = 0
            return {"type": "filter", "error": ""}
        return None

    async def _send(self, ws: web.WebSocketResponse, page: views.PageState,
                    limit: int = views.EVENTS_PER_UPDATE) -> None:
        if ws.closed:
            return
        with self.dash.lock:
            body = views.update(self.dash, page, limit)
        try:
            await asyncio.wait_for(ws.send_str(json.dumps(body, separators=(",", ":"))),
                                   SEND_TIMEOUT_S)
        except (ConnectionResetError, RuntimeError):
            pass  # the page went away; its loop ends
        except asyncio.TimeoutError:
            await ws.close()  # a page that does not read holds up no other

    async def _batches(self, app: web.Application) -> Any:
        async def loop() -> None:
            while True:
                await asyncio.sleep(BATCH_S)
                for ws, page in list(app[PAGES].items()):
                    await self._send(ws, page)

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        pages = app[PAGES]
        for ws in list(pages.keys()):
            await ws.close()

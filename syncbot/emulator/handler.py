"""HTTP plumbing: one request in, auth and faults applied, one JSON answer out."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import socket
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from syncbot.emulator import ids
from syncbot.emulator.api import ApiRequest, ApiResponse, Route, SkillsApi, match_route
from syncbot.emulator.dialects import dialect_of
from syncbot.emulator.errors import EmulatorError, not_found
from syncbot.emulator.faults import Decision, FaultController
from syncbot.emulator.stats import Stats

if TYPE_CHECKING:
    from syncbot.emulator.server import EmulatorHTTPServer

log = logging.getLogger("syncbot.emulator")

MUTATING = frozenset({"POST", "DELETE"})
# Multipart framing on top of the file bytes that the upload limit counts.
BODY_SLACK = 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class _Incoming:
    method: str
    path: str
    query: str
    body: bytes
    body_error: EmulatorError | None
    matched: tuple[Route, dict[str, str]] | None

    @property
    def template(self) -> str | None:
        return self.matched[0].template if self.matched else None


@dataclass
class Context:
    """What every request handler needs from its server."""

    api: SkillsApi
    faults: FaultController
    stats: Stats
    api_key: str | None = None

    @property
    def max_body(self) -> int:
        return self.api.max_upload_bytes + BODY_SLACK


class EmulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries a Content-Length
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_OPTIONS(self) -> None:
        self._serve("OPTIONS")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)

    # -- the request pipeline --------------------------------------------------------------

    def _serve(self, method: str) -> None:
        context = self.server.context
        request_id = ids.request_id()
        body, body_error = self._read_body(context.max_body)
        url = urlsplit(self.path)
        incoming = _Incoming(method, url.path, url.query, body, body_error, match_route(url.path))
        context.stats.record_request(method, incoming.template)
        decision = context.faults.decide(mutating=method in MUTATING)
        self._delay(decision)
        response = self._answer(incoming, decision)
        if decision.lost:
            context.stats.record_fault("lost")
            self._drop_connection()
            return
        self._send(response, request_id)

    def _answer(self, incoming: _Incoming, decision: Decision) -> ApiResponse | EmulatorError:
        try:
            self._inject(decision)
            self._authenticate()
            if incoming.body_error is not None:
                raise incoming.body_error
            response = self._dispatch(incoming)
        except EmulatorError as error:
            return error
        except Exception:  # a bug in the emulator: answer like the API's 500, keep serving
            log.exception("emulator error on %s %s", incoming.method, incoming.path)
            return EmulatorError(500, "Internal emulator error")
        if response.upload:
            self.server.context.stats.record_upload()
        return response

    def _delay(self, decision: Decision) -> None:
        if decision.latency_s > 0:
            self.server.context.stats.record_fault("latency")
            time.sleep(decision.latency_s)

    def _inject(self, decision: Decision) -> None:
        if decision.status is None:
            return
        self.server.context.stats.record_fault(f"status:{decision.status}")
        headers = {}
        if decision.retry_after is not None:
            headers["retry-after"] = f"{decision.retry_after:g}"
        raise EmulatorError(decision.status, headers=headers)

    def _authenticate(self) -> None:
        key = self.headers.get("x-api-key")
        authorization = self.headers.get("authorization", "")
        if key is None and authorization.lower().startswith("bearer "):
            key = authorization[len("bearer ") :].strip()
        if not key:
            raise EmulatorError(401, "x-api-key header is required")
        expected = self.server.context.api_key
        if expected is not None and not hmac.compare_digest(key.encode(), expected.encode()):
            raise EmulatorError(401, "invalid x-api-key")
        if not self.headers.get("anthropic-version"):
            raise EmulatorError(400, "anthropic-version: header is required")

    def _dispatch(self, incoming: _Incoming) -> ApiResponse:
        # emulator policy: `?beta=true` is tolerated, never required; one workspace, so
        # `anthropic-workspace-id` is ignored; unknown query parameters are ignored.
        if incoming.matched is None:
            raise not_found(f"Not found: {incoming.method} {incoming.path}")
        route, params = incoming.matched
        endpoint = self.server.context.api.endpoint(route, incoming.method)
        if endpoint is None:
            allowed = ", ".join(route.endpoints)
            message = f"Method {incoming.method} not allowed on {route.template}"
            raise EmulatorError(405, message, headers={"Allow": allowed})
        request = ApiRequest(
            method=incoming.method,
            params={name: unquote(value) for name, value in params.items()},
            query=parse_qs(incoming.query, keep_blank_values=True),
            dialect=dialect_of(self.headers.get_all("anthropic-beta") or []),
            content_type=self.headers.get("content-type", ""),
            body=incoming.body,
        )
        return endpoint(request)

    # -- wire helpers ----------------------------------------------------------------------

    def _read_body(self, limit: int) -> tuple[bytes, EmulatorError | None]:
        """The whole body, or an error answer (and the connection marked for closing)."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self.close_connection = True  # emulator policy: uploads must carry a length
            return b"", EmulatorError(411, "Content-Length required")
        try:
            length = int(self.headers.get("content-length", "0"))
        except ValueError:
            self.close_connection = True
            return b"", EmulatorError(400, "Invalid Content-Length")
        if length <= limit:
            return self.rfile.read(length), None
        if length <= 4 * limit:  # drain it, so the connection stays usable
            self._discard(length)
        else:
            self.close_connection = True
        return b"", EmulatorError(413)

    def _discard(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, _CHUNK))
            if not chunk:
                break
            length -= len(chunk)

    def _send(self, response: ApiResponse | EmulatorError, request_id: str) -> None:
        if isinstance(response, EmulatorError):
            status, headers = response.status, dict(response.headers)
            payload = _json(response.envelope(request_id))
        else:
            status, headers = response.status, dict(response.headers)
            body = response.body
            payload = body if isinstance(body, bytes) else _json(body)
        headers.setdefault("Content-Type", "application/json")
        self.send_response(status)
        self.send_header("request-id", request_id)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _drop_connection(self) -> None:
        """ "Response lost": the change is committed, the client gets no answer at all."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _json(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode("utf-8")

"""EmulatorServer: the Skills API emulator on a ThreadingHTTPServer in a daemon thread."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import socketserver
import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any

from syncbot.emulator.api import SkillsApi
from syncbot.emulator.bundle import DEFAULT_MAX_UPLOAD_BYTES
from syncbot.emulator.faults import FaultController, Faults
from syncbot.emulator.handler import Context, EmulatorHandler
from syncbot.emulator.persist import JsonFileStore
from syncbot.emulator.state import EmulatorState
from syncbot.emulator.stats import Stats

log = logging.getLogger("syncbot.emulator")
_JOIN_TIMEOUT = 5.0


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Tracks its connections so stop() can end idle keep-alive ones and join their threads."""

    daemon_threads = True
    request_queue_size = 128  # the stdlib's 5 drops connects when a client fans out

    def __init__(self, address: tuple[str, int], context: Context) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.context = context
        self._connections: dict[Any, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        super().__init__(address, EmulatorHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        with self._connections_lock:
            self._connections[request] = thread
        self.context.stats.record_connection()
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is routine (timeouts, lost-response tests).
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections.items())
        for sock, _ in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for _, thread in connections:
            thread.join(_JOIN_TIMEOUT)


class EmulatorServer:
    """A local, stateful Skills API. Use as a context manager, or start() and stop().

    `faults` is live: `server.faults.set(latency_ms=20)` or `server.faults = Faults(...)`
    change it between calls; `state` can be read and changed directly (to make drift).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        persist_path: str | os.PathLike[str] | None = None,
        faults: Faults | None = None,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        seed_anthropic_skills: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self.state = EmulatorState()
        if persist_path is not None:
            store = JsonFileStore(persist_path)
            store.load_into(self.state)
            self.state.on_change = store.save
        if seed_anthropic_skills:
            self.state.seed_anthropic_skills()
        self.stats = Stats()
        self._faults = FaultController(faults)
        self._context = Context(
            SkillsApi(self.state, max_upload_bytes), self._faults, self.stats, api_key
        )
        self._httpd: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def faults(self) -> FaultController:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        self._faults.set(faults or Faults())

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._httpd.server_address[1]}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> EmulatorServer:
        if self._httpd is not None:
            return self
        self._httpd = EmulatorHTTPServer((self.host, self.port), self._context)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"skills-emulator-{self._httpd.server_address[1]}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and join every thread. Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        httpd.shutdown()
        thread.join(_JOIN_TIMEOUT)
        httpd.close_connections()
        httpd.server_close()
        self._httpd = self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

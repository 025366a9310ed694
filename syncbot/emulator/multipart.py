"""multipart/form-data bodies, parsed with python-multipart into text fields and files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from syncbot.emulator.errors import invalid_request

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks


@dataclass
class Part:
    name: str = ""
    filename: str | None = None
    chunks: list[bytes] = field(default_factory=list)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


@dataclass
class FormData:
    fields: list[tuple[str, str]]
    files: list[tuple[str, str, bytes]]  # (field name, filename, content)


def parse_form(content_type: str, body: bytes) -> FormData:
    """Split a multipart body; raise a 400 EmulatorError when it is not one."""
    ctype, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise invalid_request("Request body must be multipart/form-data.")  # emulator policy
    parts = _parse_parts(boundary, body)
    form = FormData(fields=[], files=[])
    for part in parts:
        if part.filename is None:
            form.fields.append((part.name, _text(part)))
        else:
            form.files.append((part.name, part.filename, part.data))
    return form


def _text(part: Part) -> str:
    try:
        return part.data.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_request(f"Form field {part.name!r} is not valid UTF-8.") from None


class _Collector:
    """Callbacks for python-multipart's streaming parser, gathering whole parts."""

    def __init__(self) -> None:
        self.parts: list[Part] = []
        self.finished = False
        self._header_name = bytearray()
        self._header_value = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self.parts.append(Part())

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self.parts[-1].chunks.append(data[start:end])

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name.extend(data[start:end])

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value.extend(data[start:end])

    def _end(self) -> None:
        self.finished = True

    def _header_end(self) -> None:
        name = bytes(self._header_name).decode("latin-1").strip().lower()
        value = bytes(self._header_value).decode("latin-1")
        self._header_name.clear()
        self._header_value.clear()
        if name == "content-disposition":
            _, params = parse_options_header(value)
            part = self.parts[-1]
            part.name = _utf8(params.get(b"name", b""))
            filename = params.get(b"filename")
            part.filename = None if filename is None else _utf8(filename)


def _utf8(raw: bytes) -> str:
    # Header params arrive as latin-1 text; clients (httpx) put UTF-8 bytes in them.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _parse_parts(boundary: bytes, body: bytes) -> list[Part]:
    collector = _Collector()
    parser = MultipartParser(boundary, collector.callbacks())
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError:
        raise invalid_request("Malformed multipart/form-data body.") from None
    if not collector.finished:
        raise invalid_request("Malformed multipart/form-data body.")
    return collector.parts

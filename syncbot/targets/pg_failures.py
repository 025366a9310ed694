"""What a PostgreSQL failure means to the person reading it, and how to fix it.

A connection failure from libpq is a sentence about sockets and roles; the person needs
to know which of a handful of situations they are in (no such database, wrong password,
server down, unknown host) and the one command or setting that fixes it. The hint is
appended to the translated message after `FIX_MARK`, so `doctor` can show it on its own
line while every other command prints it in the same single line.
"""

from __future__ import annotations

import re

import psycopg
from psycopg.conninfo import conninfo_to_dict

FIX_MARK = "; fix: "

_NO_DATABASE = re.compile(r'database "(?P<name>[^"]+)" does not exist')
_NO_ROLE = re.compile(r'role "(?P<name>[^"]+)" does not exist')
_AUTH = re.compile(r"password authentication failed|no password supplied|no pg_hba\.conf entry")
_REFUSED = re.compile(r"Connection refused|No such file or directory|could not connect")
_HOST = re.compile(r"could not translate host name|Name or service not known|nodename nor")
_TIMEOUT = re.compile(r"timeout expired|timed out")


def fix_for(exc: psycopg.Error, url: str) -> str:
    """FIX_MARK and the fix for a recognised failure, or "" when we have nothing better."""
    text = str(exc)
    hint = _hint(text, url)
    return FIX_MARK + hint if hint else ""


def _hint(text: str, url: str) -> str:
    if found := _NO_DATABASE.search(text):
        name = found["name"]
        return (
            f"the database {name!r} does not exist: create it (`createdb {name}` or "
            f"`CREATE DATABASE {name};`), then run `syncbot db migrate`"
        )
    if found := _NO_ROLE.search(text):
        return f"the role {found['name']!r} does not exist: fix the user in DATABASE_URL"
    if _AUTH.search(text):
        return "authentication failed: check the user and password in DATABASE_URL"
    if _HOST.search(text):
        return f"the host {_host(url)!r} is unknown: fix the host in DATABASE_URL"
    if _TIMEOUT.search(text):
        return f"no answer from {_host(url)}: check the host, port and firewall"
    if _REFUSED.search(text):
        return (
            f"nothing is listening at {_host(url)}: start PostgreSQL, or fix the host "
            "and port in DATABASE_URL"
        )
    return ""


def _host(url: str) -> str:
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        return "the server"
    host = str(params.get("host") or "localhost")
    return f"{host}:{params.get('port') or 5432}"

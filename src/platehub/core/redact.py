"""Secrets out of URLs before they are shown or stored: `redact_url` is used wherever a webhook target
is shown (/info/, /v1/webhooks/ and the console's Settings page, `platehub webhook`, the server log)
and in the event log, which never holds the secret itself.

The password of the userinfo (`https://user:PASSWORD@host/`) and the values of query (and fragment)
parameters whose names look secret (`api_key`, `token`, `X-Signature`, `clientSecret` …) become
`***`; the rest of the URL is left as it was written, so an admin still recognises the target.

`redact_target` does the same for a request's `path?query` as a server log line shows it, and also
masks TS-API's sign-in parameters (`login=`, `auth=`: base64 of user:password; `session=`)."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

MASK = "***"
# a parameter is secret when one of the words of its name is one of these …
SECRET_WORDS = frozenset({"key", "token", "secret", "password", "passwd", "pwd", "pass", "auth", "signature", "sig",
                          "apikey", "accesstoken", "credential", "credentials", "session", "sid"})
# … or when its name contains one of these anywhere ("x_api_key", "authorization", "accesskeyid")
SECRET_PARTS = ("key", "token", "secret", "passw", "auth", "signature", "credential")

_SEPARATOR = re.compile(r"([&;])")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")  # snake_case, kebab-case, camelCase, ALLCAPS


def secret_name(name: str) -> bool:
    """Whether a query parameter called `name` probably carries a secret."""
    name = unquote_plus(name)
    lowered = name.lower()
    if any(part in lowered for part in SECRET_PARTS):
        return True
    return any(word.lower() in SECRET_WORDS for word in _WORD.findall(name))


CREDENTIAL_PARAMS = frozenset({"login", "auth", "session"})  # TS-API sign-in parameters (spec 004)


def _redact_params(text: str, also: frozenset[str] = frozenset()) -> str:
    """`a=1&api_key=XYZ` → `a=1&api_key=***` (separators, `&` or `;`, and the rest kept as written);
    parameters named in `also` (any case) are masked too."""
    out = []
    for pair in _SEPARATOR.split(text):  # the separators themselves come back as items of their own
        name, sep, value = pair.partition("=")
        secret = secret_name(name) or unquote_plus(name).lower() in also
        out.append(f"{name}={MASK}" if sep and value and secret else pair)
    return "".join(out)


def redact_target(target: str) -> str:
    """`/api/auth?login=ZGVtbzo…&lang=es` → `/api/auth?login=***&lang=es`: a request's path and query
    with sign-in parameters and secret-looking ones masked (for server and access logs)."""
    path, mark, query = target.partition("?")
    return f"{path}?{_redact_params(query, CREDENTIAL_PARAMS)}" if mark and query else target


def redact_url(url: str) -> str:
    """`url` with the userinfo password and secret-looking parameter values replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparseable (a bad IPv6 literal …): show nothing of it
        return MASK
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon and password else netloc
    query = _redact_params(parts.query) if parts.query else parts.query
    fragment = _redact_params(parts.fragment) if "=" in parts.fragment else parts.fragment
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))

"""One scrubbing for every copy of the config that leaves the process (W&B config and artifact, meta, report, logs).

Keys live only in the environment, but a config can still carry secrets: credentials or a signed query string in a
URL (`https://user:password@host/v1?sig=...`), or a value under a key that names a credential. Such values are
replaced before anything is written: URLs lose their user info, query and fragment; values of credential keys
become `***`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

HIDDEN = "***"
# a key that names a credential (its last word), not one that names where a credential is (`api_key_env`) or counts
# tokens (`max_tokens`; an integer is never a secret either)
SECRET_KEY = re.compile(r"(?i)(?:^|[_\-.])(?:api[_\-]?key|key|token|secret|password|passwd|credentials?)$")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>]+")
_YAML_PAIR = re.compile(r"^(?P<head>\s*(?:-\s+)?(?P<key>[^\s:#'\"]+)\s*:\s+)(?P<value>[^#\s][^#]*?)(?P<tail>\s+#.*)?$")


def public_url(url: str | None) -> str | None:
    """A URL without credentials: user:password@, the query string (where `?key=...` would be) and the fragment are
    dropped."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def redact_text(text: str) -> str:
    """Every URL in a text without its credentials (log lines, error messages)."""
    return _URL.sub(lambda m: public_url(m.group(0)) or "", text)


def redact_data(data: Any) -> Any:
    """A copy of JSON-like data with credential values hidden and every URL inside a string made public."""
    if isinstance(data, Mapping):
        return {k: HIDDEN if _secret(k, v) else redact_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(v) for v in data]
    return redact_text(data) if isinstance(data, str) else data


def redact_yaml(text: str) -> str:
    """A config file's text, comments and layout kept, with the same values hidden as `redact_data` hides. Where a
    line-by-line scrub cannot be shown to give the same data (unusual YAML), the redacted data is dumped instead."""
    lines = []
    for line in redact_text(text).splitlines(keepends=True):
        body = line.rstrip("\r\n")
        match = _YAML_PAIR.match(body)
        if match and SECRET_KEY.search(match["key"]) and _scalar_secret(match["value"]):
            body = f"{match['head']}'{HIDDEN}'{match['tail'] or ''}"
        lines.append(body + line[len(line.rstrip("\r\n")) :])
    scrubbed = "".join(lines)
    try:
        same = yaml.safe_load(scrubbed) == redact_data(yaml.safe_load(text))
    except yaml.YAMLError:
        same = False
    if same:
        return scrubbed
    try:
        return yaml.safe_dump(redact_data(yaml.safe_load(text)), allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return redact_text(text)  # not YAML at all: URLs scrubbed, nothing else can be known


def _secret(key: Any, value: Any) -> bool:
    return isinstance(key, str) and isinstance(value, str) and bool(value) and bool(SECRET_KEY.search(key))


def _scalar_secret(value: str) -> bool:
    """A YAML scalar that `redact_data` would hide: a non-empty string (not a number, boolean or null)."""
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return True
    return isinstance(parsed, str) and bool(parsed)

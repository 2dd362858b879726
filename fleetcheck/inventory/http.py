"""An HTTP source of truth: ``--inventory https://cmdb.example.com/fleet`` answers with
Ansible's dynamic-inventory JSON (see dynamic.py).

Secrets never appear on the command line, in a file fleetcheck reads, in an error
message or in a report: ``--inventory-token-env VAR`` names the environment variable
that holds a bearer token, or a small auth file (``--inventory-auth FILE`` or
``$FLEETCHECK_INVENTORY_AUTH``) names the *environment variables* that hold them::

    token_env: FLEET_TOKEN            # a bearer token, or
    username_env: FLEET_USER          # basic auth with these two, or
    password_env: FLEET_PASSWORD
    token_url: https://id.example.com/token   # ... POST them here first, as JSON
    token_field: access_token                 #     {"username":..,"password":..},
                                              #     and send the answer's token

TLS is verified (``--inventory-ca FILE`` for a private CA); plain http:// is allowed
only to a loopback address. Every request has a timeout; a 5xx answer is retried a
bounded number of times. Each failure is one line that names the URL (without its
query string). The last good answer is cached per URL (mode 0600, under
``$XDG_CACHE_HOME/fleetcheck/inventory``); it is used only with
``--inventory-cache-ok``, and then the run says so (Inventory.notes).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import yaml

from fleetcheck.values import shown

if TYPE_CHECKING:
    import requests

from .dynamic import RefusedJSON, loads
from .errors import MAX_SOURCE_BYTES, InventoryError, one_line

AUTH_ENV = "FLEETCHECK_INVENTORY_AUTH"
AUTH_KEYS = ("token_env", "username_env", "password_env", "token_url", "token_field")
SECRET_KEYS = ("token", "password", "secret", "api_key")
DEFAULT_TIMEOUT = 20.0
DEFAULT_RETRIES = 2          # after the first attempt, on 5xx only
RETRY_PAUSE = 0.5            # doubled after each retry
CHUNK = 1 << 16
# An answer must arrive within this many --inventory-timeout in all (each read has the
# timeout itself; a server can still drip a byte a read for ever without this).
READ_FACTOR = 10
TOKEN_MAX_BYTES = 1 << 20    # a token endpoint's answer
AUTH_MAX_BYTES = 64 * 1024   # an auth file names a few environment variables


@dataclass(frozen=True)
class SourceOptions:
    """How remote inventory sources (HTTP, scripts) are read."""

    auth_file: str | None = None
    token_env: str | None = None      # --inventory-token-env: a bearer token, no file
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    cache_ok: bool = False
    cache_dir: str | None = None
    # Ansible's own ways (issue 16): how static inventories are read, where a
    # playbook's group_vars/host_vars sit, and vault secrets for delegation.
    engine: str = "auto"              # --inventory-engine: auto | native | ansible
    playbook_dir: str | None = None   # --playbook-dir
    vault_password_files: tuple[str, ...] = ()   # --vault-password-file (repeatable)
    vault_ids: tuple[str, ...] = ()              # --vault-id (repeatable)


@dataclass(frozen=True)
class Auth:
    file: str
    token_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    token_url: str | None = None
    token_field: str = "access_token"
    secrets: tuple[str, ...] = field(default=(), repr=False)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def display_url(url: str) -> str:
    """The URL as fleetcheck shows it: no user info, no query string (either may
    carry a secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ":" + parts.netloc.rpartition(":")[2]
    query = "?..." if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


def check_url(url: str, what: str = "inventory URL") -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InventoryError(f"bad {what}: {exc}", display_url(url)) from None
    if not parts.hostname:
        raise InventoryError(f"bad {what}: no host name", display_url(url))
    if parts.username or parts.password:
        raise InventoryError(
            f"credentials in the {what} are refused: put them in environment variables "
            "named in the --inventory-auth file", display_url(url))
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise InventoryError(f"plain http:// is allowed only to loopback; use https:// for "
                             f"the {what}", display_url(url))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- auth -------------------------------------------------------------------------------
def load_auth(path: str | None, token_env: str | None = None) -> Auth | None:
    if token_env:
        if path:
            raise InventoryError("give --inventory-auth or --inventory-token-env, not both")
        value = os.environ.get(token_env)
        if not value:
            raise InventoryError(f"--inventory-token-env: environment variable {token_env} "
                                 "is not set")
        return Auth(file="--inventory-token-env", token_env=token_env, secrets=(value,))
    path = path or os.environ.get(AUTH_ENV) or None
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(AUTH_MAX_BYTES + 1)
        if len(text) > AUTH_MAX_BYTES:
            raise InventoryError(f"inventory auth file: larger than {AUTH_MAX_BYTES >> 10} KiB "
                                 "(it only names environment variables)", path)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise InventoryError(f"cannot read the inventory auth file: {exc.strerror or exc}",
                             path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InventoryError(f"inventory auth file: YAML syntax error: "
                             f"{getattr(exc, 'problem', None) or 'invalid YAML'}", path,
                             mark.line + 1 if mark else None) from None
    except (ValueError, RecursionError):  # not UTF-8, a bad date or int, deep nesting
        raise InventoryError("inventory auth file: not a small YAML mapping of "
                             f"{', '.join(AUTH_KEYS)}", path) from None
    if not isinstance(data, dict):
        raise InventoryError("inventory auth file: expected a mapping of "
                             f"{', '.join(AUTH_KEYS)}", path)
    for key in data:
        if key in SECRET_KEYS:
            raise InventoryError(f"inventory auth file: {shown(key)} would be a secret in a file; "
                                 "name the environment variable that holds it "
                                 f"({key}_env)", path)
        if key not in AUTH_KEYS:
            raise InventoryError(f"inventory auth file: unknown key {shown(key)} "
                                 f"(expected {', '.join(AUTH_KEYS)})", path)
        if not isinstance(data[key], str) or not data[key].strip():
            raise InventoryError(f"inventory auth file: {key} must be a non-empty string", path)
    if ("username_env" in data) != ("password_env" in data):
        raise InventoryError("inventory auth file: username_env and password_env go "
                             "together", path)
    if "token_url" in data and "username_env" not in data:
        raise InventoryError("inventory auth file: token_url needs username_env and "
                             "password_env (the credentials to POST)", path)
    if "token_env" in data and "username_env" in data:
        raise InventoryError("inventory auth file: give token_env, or username_env and "
                             "password_env (with token_url to get a token), not both", path)
    if "token_env" not in data and "username_env" not in data:
        raise InventoryError("inventory auth file: names no credentials (token_env, or "
                             "username_env and password_env)", path)
    if "token_url" in data:
        check_url(data["token_url"], "token_url")
    secrets = []
    for key in ("token_env", "username_env", "password_env"):
        if key in data:
            value = os.environ.get(data[key])
            if not value:
                raise InventoryError(f"inventory auth file: environment variable "
                                     f"{data[key][:80]} ({key}) is not set", path)
            if key != "username_env":
                secrets.append(value)
    return Auth(file=path, secrets=tuple(secrets),
                **{k: v for k, v in data.items() if k in AUTH_KEYS})


# -- fetching ---------------------------------------------------------------------------
class _Failure(Exception):
    """A failed fetch, one line, never carrying a secret."""


def _request(method: str, url: str, options: SourceOptions, **kwargs: Any) -> requests.Response:
    """One request with a timeout, retried on 5xx; raises _Failure."""
    import requests  # noqa: PLC0415 - 90 ms of import every run would pay for nothing

    verify: bool | str = options.ca_file or True
    pause = RETRY_PAUSE
    attempts = 1 + max(0, options.retries)
    for attempt in range(1, attempts + 1):
        try:
            resp = requests.request(method, url, timeout=options.timeout, verify=verify,
                                    allow_redirects=False, stream=True, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise _Failure(_tls_reason(exc, options)) from None
        except requests.exceptions.Timeout:
            raise _Failure(f"timed out after {options.timeout:g}s (--inventory-timeout)") from None
        except requests.exceptions.ConnectionError as exc:
            raise _Failure(_connection_reason(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise _Failure(f"request failed: {type(exc).__name__}") from None
        if resp.status_code < 500 or attempt == attempts:
            break
        resp.close()
        time.sleep(pause)
        pause *= 2
    status = resp.status_code
    if status != 200:
        resp.close()
    if status >= 500:
        raise _Failure(f"HTTP {status} {resp.reason or ''}".rstrip()
                       + f" (after {attempts} attempts)")
    if status in (401, 403):
        sent = bool(kwargs.get("headers", {}).get("Authorization") or kwargs.get("auth")
                    or kwargs.get("json") is not None)
        if not sent:
            hint = ("no credentials were sent (--inventory-token-env VAR or "
                    "--inventory-auth FILE names them)")
        elif status == 401:
            hint = "the credentials were refused"
        else:
            hint = "these credentials may not read it"
        raise _Failure(f"HTTP {status} {resp.reason or ''}".rstrip() + f": {hint}")
    if 300 <= status < 400:
        target = urljoin(url, resp.headers.get("Location", ""))
        raise _Failure(f"HTTP {status} redirect to {display_url(target)} "
                       "(not followed: give the final URL)")
    if status != 200:
        raise _Failure(f"HTTP {status} {resp.reason or ''}".rstrip())
    return resp


def _tls_reason(exc: Exception, options: SourceOptions) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        if "mismatch" in text or "doesn't match" in text:
            return "TLS: the server's certificate is not for this host name"
        hint = "" if options.ca_file else " (for a private CA: --inventory-ca FILE)"
        return f"TLS: the server's certificate is not trusted{hint}"
    if "No such file" in text or "Could not find" in text:
        return f"TLS: cannot read the CA file {options.ca_file}"
    return "TLS handshake failed"


def _connection_reason(exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "Failed to resolve" in text \
            or "nodename nor servname" in text:
        return "host name does not resolve"
    if "timed out" in text:
        return "timed out"
    if "Connection reset" in text or "RemoteDisconnected" in text \
            or "Connection aborted" in text:
        return "the connection was closed without an answer"
    return "connection failed"


def _body(resp: requests.Response, what: str, max_bytes: int,
          seconds: float | None = None) -> bytearray:
    """The body, read as it streams in, at most ``max_bytes`` of it, within ``seconds``
    in all: the timeout of each read does not bound a server that drips a byte at a
    time, so the reads take what has arrived (urllib3's read1) and the deadline is
    checked between them."""
    import requests  # noqa: PLC0415
    import urllib3  # noqa: PLC0415

    too_big = _Failure(f"{what} is larger than {max_bytes >> 20} MiB (the limit of an "
                       "inventory source)")
    try:
        declared = int(resp.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    deadline = time.monotonic() + seconds if seconds else None
    read1 = getattr(resp.raw, "read1", None)
    body = bytearray()
    try:
        if declared > max_bytes:
            raise too_big
        chunks = (iter(lambda: read1(CHUNK, decode_content=True), b"") if read1 is not None
                  else resp.iter_content(CHUNK))
        for chunk in chunks:
            body.extend(chunk)
            if len(body) > max_bytes:
                raise too_big
            if deadline is not None and time.monotonic() > deadline:
                raise _Failure(f"{what} did not arrive within {seconds:g}s in all "
                               f"({READ_FACTOR} x --inventory-timeout)")
    except requests.exceptions.Timeout:
        raise _Failure(f"timed out reading {what} (--inventory-timeout)") from None
    except requests.exceptions.RequestException as exc:
        raise _Failure(f"{what} could not be read: {type(exc).__name__}") from None
    except urllib3.exceptions.TimeoutError:   # read1 raises urllib3's own errors
        raise _Failure(f"timed out reading {what} (--inventory-timeout)") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise _Failure(f"{what} could not be read: {type(exc).__name__}") from None
    finally:
        resp.close()
    return body


def _json(resp: requests.Response, what: str, options: SourceOptions,
          max_bytes: int | None = None) -> Any:
    body = _body(resp, what, MAX_SOURCE_BYTES if max_bytes is None else max_bytes,
                 READ_FACTOR * options.timeout if options.timeout else None)
    try:
        return loads(body)
    except RefusedJSON as exc:
        raise _Failure(f"{what} is JSON that fleetcheck refuses: {exc}") from None
    except ValueError:  # not JSON (json.JSONDecodeError), or not UTF-8/16/32
        kind = resp.headers.get("Content-Type", "no content type").split(";")[0]
        raise _Failure(f"{what} is not JSON ({one_line(kind)[:60]}, {len(body)} bytes)") from None


def _token(auth: Auth, options: SourceOptions) -> str:
    where = f"token endpoint {display_url(auth.token_url)}"
    body = {"username": os.environ[auth.username_env], "password": os.environ[auth.password_env]}
    try:
        resp = _request("POST", auth.token_url, options, json=body)
    except _Failure as exc:
        raise _Failure(f"{where}: {exc}") from None
    data = _json(resp, f"{where}: the answer", options, TOKEN_MAX_BYTES)
    token = data.get(auth.token_field) if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise _Failure(f"{where}: the answer has no string field {shown(auth.token_field)} "
                       "(token_field in the auth file)")
    return token


def _headers(auth: Auth | None, options: SourceOptions) -> tuple[dict, Any]:
    headers = {"Accept": "application/json"}
    if auth is None:
        return headers, None
    if auth.token_url:
        headers["Authorization"] = f"Bearer {_token(auth, options)}"
        return headers, None
    if auth.token_env:
        headers["Authorization"] = f"Bearer {os.environ[auth.token_env]}"
        return headers, None
    return headers, (os.environ[auth.username_env], os.environ[auth.password_env])


def fetch(url: str, options: SourceOptions) -> tuple[Any, str | None]:
    """The inventory JSON at ``url`` and, when it came from the cache, a note saying so.
    Its shape is checked by the caller (sources.load)."""
    check_url(url)
    shown = display_url(url)
    auth = load_auth(options.auth_file, options.token_env)
    secrets = list(auth.secrets) if auth else []
    try:
        headers, basic = _headers(auth, options)
        if "Authorization" in headers:
            secrets.append(headers["Authorization"].split(" ", 1)[1])  # a fetched token too
        resp = _request("GET", url, options, headers=headers, auth=basic)
        data = _json(resp, "the answer", options)
    except _Failure as exc:
        reason = _scrub(str(exc), secrets)
        cached = read_cache(url, options)
        if cached is None:
            raise InventoryError(reason, shown) from None
        if not options.cache_ok:
            raise InventoryError(f"{reason} (a cached answer from {cached['fetched']} exists: "
                                 "--inventory-cache-ok uses it)", shown) from None
        age = _age(time.time() - cached["fetched_ts"])
        note = (f"INVENTORY FROM CACHE: {shown} could not be fetched ({reason}); using the "
                f"answer cached at {cached['fetched']} ({age} old)")
        return cached["inventory"], note
    return data, None


def _scrub(text: str, secrets: list[str]) -> str:
    """Belt and braces: no secret survives into a message."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return one_line(text)


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d"


# -- cache ------------------------------------------------------------------------------
def cache_path(url: str, options: SourceOptions) -> str:
    base = options.cache_dir or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "fleetcheck", "inventory")
    return os.path.join(base, hashlib.sha256(url.encode()).hexdigest()[:32] + ".json")


def write_cache(url: str, data: Any, options: SourceOptions) -> None:
    path = cache_path(url, options)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"url": display_url(url), "fetched_ts": time.time(),
                       "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "inventory": data}, handle)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is no reason to stop the audit


def read_cache(url: str, options: SourceOptions) -> dict | None:
    try:
        with open(cache_path(url, options), encoding="utf-8") as handle:
            cached = json.load(handle)
        if {"fetched_ts", "fetched", "inventory"} <= set(cached):
            return cached
    except (OSError, ValueError, TypeError, RecursionError):
        pass
    return None

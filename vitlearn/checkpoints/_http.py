"""HTTP(S) with the standard library only: byte ranges, whole files, and a deadline on every try.

:mod:`vitlearn.checkpoints.remote` fetches checkpoints with it. Its promises:

- nothing hangs: opening a URL (name lookup, connection, TLS, the answer's headers) gets ``timeout``
  seconds in all, and every read of a body waits at most ``timeout`` seconds for the next bytes. No
  global setting is touched (``socket.setdefaulttimeout`` stays as the user left it);
- a network that cannot be reached, or that drops a transfer, is one exception,
  :class:`OfflineError`, whose message is one line;
- a file appears under its final name only once every byte has arrived (a temporary file in the
  same folder, renamed), so an interrupted download is never mistaken for a complete one.
"""

from __future__ import annotations

import http.client
import os
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._progress import ProgressBar

BLOCK = 64 * 1024
"""The smallest byte range :class:`RemoteFile` asks for: a safetensors header or a zip directory."""
CHUNK = 1024 * 1024
"""How much of a whole-file download is read (and written) at a time."""
USER_AGENT = "vitlearn (python urllib)"


class OfflineError(ConnectionError):
    """The network could not be reached, or it dropped a transfer.

    No route or no name lookup, a refused connection, no answer within the time-out, or a
    download cut short. A subclass of ``ConnectionError`` (so of ``OSError``).
    """


class HTTPStatusError(OSError):
    """The server answered, with an error status (``code``: 404, 403, 500, ...)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class RangesRefused(Exception):
    """A server that answered one byte range stopped honouring them (internal: fall back)."""


def _reason(e: BaseException) -> str:
    inner = getattr(e, "reason", None)
    text = str(inner if inner is not None else e).strip() or type(e).__name__
    return re.sub(r"^\[Errno -?\d+\] ", "", text.splitlines()[0])


def _translate(e: BaseException, url: str, elapsed: float) -> Exception:
    """One exception with a one-line message for whatever opening ``url`` raised."""
    if isinstance(e, urllib.error.HTTPError):
        e.close()
        what = "not found on the server" if e.code == 404 else "the server refused it"
        return HTTPStatusError(f"{url}: {what} (HTTP {e.code} {e.reason})", e.code)
    if isinstance(e, ssl.SSLError) or isinstance(getattr(e, "reason", None), ssl.SSLError):
        return OSError(f"{url}: the secure connection failed ({_reason(e)})")
    if isinstance(e, ValueError):  # urllib: "unknown url type"
        return ValueError(f"{url}: not a URL that can be opened ({_reason(e)})")
    if isinstance(e, (urllib.error.URLError, OSError, http.client.HTTPException)):
        return OfflineError(f"could not reach {url} ({_reason(e)}, after {elapsed:.1f} s)")
    return e  # anything else is a bug worth its own traceback


def open_url(
    url: str,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    method: str = "GET",
) -> http.client.HTTPResponse:
    """Open ``url`` (redirects followed) within ``timeout`` seconds, or raise.

    ``urlopen``'s own ``timeout`` bounds each connection attempt and each read, but not the name
    lookup, and a host with several addresses is tried once per address; so the opening runs in
    a helper thread and is given up after ``timeout`` seconds in all. Raises
    :class:`OfflineError` (unreachable), :class:`HTTPStatusError` (an error status) or
    ``OSError`` (TLS failure).
    """
    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, **(headers or {})}, method=method
    )
    lock = threading.Lock()
    state: dict[str, object] = {}
    done = threading.Event()

    def attempt() -> None:
        response, error = None, None
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except BaseException as e:  # handed to the caller's thread below
            error = e
        with lock:
            if state.get("abandoned"):
                if response is not None:
                    response.close()
                return
            state["response"], state["error"] = response, error
            done.set()

    start = time.monotonic()
    threading.Thread(target=attempt, name="vitlearn-open-url", daemon=True).start()
    done.wait(timeout)
    with lock:
        if not done.is_set():
            state["abandoned"] = True  # the thread closes what it gets, if it ever does
            raise OfflineError(f"could not reach {url} (no answer within {timeout:g} s)")
    error = state["error"]
    if error is not None:
        raise _translate(error, url, time.monotonic() - start) from None  # type: ignore[arg-type]
    return state["response"]  # type: ignore[return-value]


def read_chunk(response: http.client.HTTPResponse, size: int, url: str) -> bytes:
    """Up to ``size`` bytes of the body (``b""`` at its end); a stalled or broken read is
    offline."""
    try:
        return response.read(size)
    except (OSError, http.client.HTTPException) as e:
        raise OfflineError(f"the transfer from {url} broke off ({_reason(e)})") from None


def read_exact(response: http.client.HTTPResponse, size: int, url: str) -> bytes:
    """Exactly ``size`` bytes of the body, or :class:`OfflineError` saying how many came."""
    parts, got = [], 0
    while got < size:
        chunk = read_chunk(response, min(CHUNK, size - got), url)
        if not chunk:
            raise OfflineError(f"the transfer from {url} stopped after {got} of {size} bytes")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def content_range(response: http.client.HTTPResponse) -> tuple[int, int, int | None] | None:
    """``(first, last, total)`` from a 206 answer's ``Content-Range`` (total None when ``*``)."""
    m = _CONTENT_RANGE.fullmatch((response.headers.get("Content-Range") or "").strip())
    if not m:
        return None
    return int(m[1]), int(m[2]), None if m[3] == "*" else int(m[3])


class RemoteFile:
    """A file on a server that honours byte ranges, read like a local binary file.

    ``seek``, ``tell`` and ``read`` work as on an open file, so :mod:`zipfile` can read it. Bytes
    are fetched on first use in ranges of at least :data:`BLOCK` and kept; a read near the end of
    the file fetches the block before the end (where a zip keeps its directory). ``fetched``
    counts the bytes that came over the network, ``requests`` the requests that fetched them.
    """

    def __init__(self, url: str, size: int, first: bytes, *, timeout: float) -> None:
        self.url, self.size, self.timeout = url, size, timeout
        self._blocks: list[tuple[int, bytes]] = [(0, first)]
        self._pos = 0
        self.fetched = len(first)
        self.requests = 1

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"seek to {base + offset}, before the start of the file")
        self._pos = base + offset
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        start = self._pos
        end = self.size if size is None or size < 0 else min(self.size, start + size)
        if start >= end:
            return b""
        for lo, block in self._blocks:
            if lo <= start and end <= lo + len(block):
                break
        else:
            hi = min(self.size, max(end, start + BLOCK))
            lo = max(0, hi - BLOCK) if hi - start < BLOCK else start
            block = self._fetch(lo, hi)
            self._blocks.append((lo, block))
        self._pos = end
        return block[start - lo : end - lo]

    def prefetch(self, start: int, end: int) -> None:
        """Fetch bytes ``start .. end - 1`` in one request (unless held already), for reads to
        come."""
        end = min(end, self.size)
        if not any(lo <= start and end <= lo + len(b) for lo, b in self._blocks) and start < end:
            self._blocks.append((start, self._fetch(start, end)))

    def _fetch(self, lo: int, hi: int) -> bytes:
        response = open_url(
            self.url, timeout=self.timeout, headers={"Range": f"bytes={lo}-{hi - 1}"}
        )
        with response:
            got = content_range(response) if response.status == 206 else None
            if got != (lo, hi - 1, self.size):
                raise RangesRefused(
                    f"asked for bytes {lo}-{hi - 1} of {self.size}, the server answered HTTP "
                    f"{response.status} "
                    f"{response.headers.get('Content-Range') or 'without a range'}"
                )
            data = read_exact(response, hi - lo, self.url)
        self.fetched += len(data)
        self.requests += 1
        return data


@contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """A temporary path beside ``dest`` (same suffix); renamed to ``dest`` if the block succeeds.

    On any error the temporary file is removed and ``dest`` is left as it was.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{threading.get_ident()}.part{dest.suffix}")
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def save_response(
    response: http.client.HTTPResponse, dest: Path, url: str, *, progress: bool, desc: str
) -> int:
    """Write ``response``'s body to ``dest`` (atomically) with a progress bar; return the bytes.

    The bar (``progress=True``) needs the answer's ``Content-Length``; without one there is none.
    A body shorter than its ``Content-Length`` raises :class:`OfflineError` and leaves nothing.
    """
    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    bar = ProgressBar(total or 1, desc=desc, enabled=progress and bool(total))
    step = max(1, (total or 1) // 50)
    got, next_draw = 0, 0
    try:
        with atomic_path(dest) as tmp, open(tmp, "wb") as f:
            while chunk := read_chunk(response, CHUNK, url):
                f.write(chunk)
                got += len(chunk)
                if got >= next_draw:
                    bar.update(got)
                    next_draw = got + step
            if total is not None and got != total:
                raise OfflineError(
                    f"the download of {url} stopped after {got} of {total} bytes; nothing was kept"
                )
            bar.update(got)
    finally:
        bar.close()
        response.close()
    return got


def write_bytes(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def reachable(url: str, *, timeout: float) -> bool:
    """Whether the server of ``url`` answers a HEAD request within ``timeout`` seconds.

    Any HTTP answer counts, an error status included: the network is there.
    """
    try:
        open_url(url, timeout=timeout, method="HEAD").close()
    except HTTPStatusError:
        return True
    except (OSError, ValueError):
        return False
    return True

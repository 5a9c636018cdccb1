"""Browser hardening headers on every response (set by `http/edge.py`).

This is a JSON API: nothing it answers should be sniffed into HTML or script, framed, or
leak its URL (which may carry a session id) in a `Referer`. The headers are set only when
the response has not set them itself, so a future HTML page (the `/docs` view) can bring its
own `Content-Security-Policy`; it must then keep `frame-ancestors 'none'` in it.

An unexpected 500 is written by Starlette's ServerErrorMiddleware, outside every user
middleware; `http/errors.handle_unexpected` adds `SECURITY_HEADERS` itself.
"""

from __future__ import annotations

SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # X-Frame-Options for older browsers; CSP frame-ancestors is the standard (CSP 2).
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}

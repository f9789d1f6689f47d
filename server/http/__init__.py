"""The Streamable HTTP face of the server: authentication, request checks, sessions, metrics."""

from secaudit.server.http.face import HttpFace, build_token_registry
from secaudit.server.http.run import serve_http

__all__ = ["HttpFace", "build_token_registry", "serve_http"]

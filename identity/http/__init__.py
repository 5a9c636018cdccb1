"""Starlette layer: parse the request, call one service, render the result or the error."""

"""The HTTP shell: everything between the socket and the routers.

Guards (body size, time limit, compute slots), the rate limit, security headers,
observability (request ids, access log, metrics), HEAD answered as GET, and the heap
settings for large answers. Routers in `app.api` never import from here except to
record what they measured.
"""

"""chitram: the command-line client of a Chitram image host. Talks to the HTTP API only (httpx + rich)."""

__version__ = "0.1.0"

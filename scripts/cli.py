"""Shared set-up of the operator scripts (``sweep``, ``redrive``, ``smoke-test``) when run as commands."""

from __future__ import annotations

import logging


def configure_logging(logger: logging.Logger) -> None:
    """Our lines at INFO, everyone else's (botocore's "Found credentials...") from WARNING.

    Only for the command: ``main()`` called in-process (the tests) leaves logging alone.
    """
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logger.setLevel(logging.INFO)

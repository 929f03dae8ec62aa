"""Accounts plumbing: password hashing and policy, our own JWTs, bearer-token providers, the user store, mail.

- ``passwords``  bcrypt hashing (cost from settings), the password policy, a dummy hash for unknown emails.
- ``tokens``     HS256 access tokens we issue (local provider): issue and verify, algorithm pinned.
- ``providers``  ``local`` (our JWTs) and ``oidc`` (RS256 against a JWKS URL) behind one ``TokenProvider``.
- ``store``      the users table: users, unique emails, login failures and lockout, quotas, reset tokens.
- ``mailer``     where password-reset mail goes: memory (tests), a directory outbox (local), SES (deployed).

Nothing here imports Chalice; the routes live in ``chalicelib.api.auth`` and the rules in
``chalicelib.services.users``.
"""

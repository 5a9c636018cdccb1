"""Domain logic. The rules every service follows (docs/architecture.md, "Transactions"):

1. A service is an async function whose first argument is the one container of
   collaborators, `Services` (`identity.services.container`); the rest are keyword values
   the HTTP or CLI layer parsed (ids, an `Origin`, an authenticated `Principal`).
2. A service owns its units of work: `async with unit_of_work(svc.sessionmaker) as session`
   (the hot paths, the Bearer check, a refresh and a login's lookup and success, use the
   statements of `identity.db.direct`, which keeps the same rules; docs/architecture.md,
   "Hot paths").
   Queries (`identity.db.*`) and the helpers a service calls inside its unit of work (such
   as `lockout.register_failure`) take that session; nothing else commits or opens one.
3. Password hashing and strength checks run in the hash pool outside any transaction, so
   no connection (or SQLite's write lock) is held for tens of milliseconds. A service that
   hashes opens one unit of work before the hash and one after; every other service
   opens exactly one.
4. Every state change that matters records its event in the same unit of work.
5. Failures raise the domain errors of `identity.errors`; a service never imports
   Starlette, and the HTTP layer never imports `identity.db`.
"""

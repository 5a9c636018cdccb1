"""The admin API under /admin: Bearer routes for users whose own row holds the `admin` role.

Every handler starts with `require_admin` (401 without a valid token, 403 without the role),
lists page through `pagination`, and every action records an event whose `actor_id` is the
acting administrator, in the same unit of work as the change.
"""

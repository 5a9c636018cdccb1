"""Alembic's script directory (env.py, script.py.mako, versions/), shipped inside the package.

Nothing imports this package: `identity.db.migrations` finds the directory through
`importlib.resources`, so an installed wheel migrates without the source checkout. A
package (not a bare folder) so the resource lookup and the type checker see it as one.
"""

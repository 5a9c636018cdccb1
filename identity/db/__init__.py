"""Storage: models, engine, unit of work and the queries (one module per table)."""

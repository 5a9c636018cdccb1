"""`python -m bench [options]`: the PostgreSQL benchmark (`--help` lists the options)."""

from bench.harness import main

main()

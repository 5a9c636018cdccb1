"""Pure cryptography: no I/O, no settings, no database. Keys, clocks and secrets come in."""

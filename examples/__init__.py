"""Runnable examples; each has its own test, collected by pytest with the main suite."""

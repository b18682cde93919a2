"""The deployment tests use the browser and screenshot fixtures of tests/conftest.py."""

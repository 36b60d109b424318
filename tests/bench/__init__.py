"""Benchmarks, run with `make bench` (`python -m tests.bench [name ...]`) against PostgreSQL
(DATABASE_URL). Each module is one bench with a `main(argv)`; not collected by pytest."""

"""Data: the SQLAlchemy models, the database -> pandas bridge (frames) and the question bank
the application loaded (questions). Imports only the core below it."""

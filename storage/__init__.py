"""Storage: SQLAlchemy 2 models, sessions, repositories and migrations."""

"""The pure core: the question bank, scoring, norms, password rules, text checks and the
spreadsheet reader. Imports no Flask, no database and no other app module (import-linter)."""

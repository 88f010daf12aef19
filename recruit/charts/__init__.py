"""Server-side SVG charts: numbers in, accessible SVG text out (no Flask, no database)."""

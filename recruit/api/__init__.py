"""JSON API v1 for an ATS: bearer API keys, organisation-scoped, its OpenAPI document generated
from the code (routes.py: the views; schemas.py: requests and responses; openapi.py: the
document; errors.py: JSON errors of one shape; services.py: what the views need)."""

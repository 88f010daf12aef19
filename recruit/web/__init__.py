"""HTTP plumbing shared by the blueprints: access control, security headers and rate limits,
request logs, error pages, strict query arguments and the form base class."""

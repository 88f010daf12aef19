"""Services shared by several capabilities: results, invitations and links, the outbox, audit,
API keys, staff sessions, exports and privacy. They run queries and may commit; they know
nothing of HTTP requests and import no capability, web or chart module."""

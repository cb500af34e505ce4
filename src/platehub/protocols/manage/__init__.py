"""platehub's own management API: devices and their command queues (API token required)."""

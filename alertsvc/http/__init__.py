"""HTTP plumbing that both the API (``api/``) and the pages (``web/``) use: request dependencies, body limits,
client addresses and request rate limiting. It sits below both so neither imports the other."""

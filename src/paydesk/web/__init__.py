"""Customer-facing pages: the server-rendered checkout and its result page."""

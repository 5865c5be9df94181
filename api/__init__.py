"""The HTTP API: an entry point like ``flows/``: handlers parse, call one service
function of a domain package, and render. No SQL, no business rules."""

"""Search, read once for every store: the query language (`query`) and the request and
page models (`request`) the CLI, the HTTP API and the pages share."""

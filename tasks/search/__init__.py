"""Search, read once for every store: the query language (`query`), the request and
page models (`request`) the CLI, the HTTP API and the pages share, the snippet of a hit
(`snippet`) and what the stores keep to filter on (`fields`). The SQL is
`tasks.store.search`, with each store's full-text engine in its dialect."""

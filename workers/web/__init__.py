"""docflow's web server: the JSON API under /api (with its OpenAPI spec) and server-rendered
pages (search, document, entity, pipeline), built by `create_app(settings)`.

Modules, one idea each: `app` (the factory), `state` (settings, store, templates per app),
`security` (who may write, where it may listen), `api_read`/`api_write` (the API),
`views` (what a document or entity page shows, shared by API and pages), `actions`
(upload, retry, entity rules: the CLI's own code paths), `uploads` (receiving a file
safely), `render` (escaping and inline highlighting), `pages`/`pages_ops` (HTML routes),
`errors` (one error shape for users). Import the factory from `workers.web.app`: this
package module imports nothing, so its modules can import each other without a circle.
"""

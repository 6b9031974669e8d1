"""The public web site: map of works, transparency page and open data (also a Mini App).

`web.site.web_routes(db, settings)` gives the routes to mount in another Starlette app;
`web.site.build_site(db, settings)` the site alone; `web.server.serve_site(...)` runs it with
uvicorn. Its settings are `Settings.web` (`bot.config`).
"""

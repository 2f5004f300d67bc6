"""The review pages in a browser (docs/web.md): the app, its HTTP listener, the case timeline."""

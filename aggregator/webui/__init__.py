"""The operator web UI and the printable batch report (issue 8): Starlette app
(:mod:`.app`), accounts and CSRF (:mod:`.auth`), SVG charts (:mod:`.charts`), QR codes
(:mod:`.qr`), the ja/en catalogue (:mod:`.i18n`), page data (:mod:`.views`), the report
renderer (:mod:`.report`) and the uvicorn thread (:mod:`.server`)."""

"""The operator web UI and the printable batch report (issue 8): the Starlette app wired from one
module per audience (:mod:`.app`; routes in :mod:`.login_routes`, :mod:`.operator_routes`,
:mod:`.ledger_routes`, :mod:`.resident_routes`, :mod:`.shop_routes`, what they share in
:mod:`.common` and :mod:`.households`, errors in :mod:`.errors`), accounts and CSRF
(:mod:`.auth`), SVG charts (:mod:`.charts`), QR codes (:mod:`.qr`), the ja/en catalogue
(:mod:`.i18n`), page data (:mod:`.views`), the report renderer (:mod:`.report`) and the uvicorn
thread (:mod:`.server`)."""

"""The demo's last step: credentials people carry, checked offline as a shop or buyer would.

Into ``--out/credentials/``: a household's eco-points statement, the PV batch's summary (the
one ``batch report`` wrote beside report.json) and the household's enrolment credential, with
the municipality's DID document and status list as its read API serves them — everything
``eco-verify credential`` needs, nothing fetched at check time. Then the refusals a shop must
see: ``tampered/`` holds the statement with its balance raised, ``revoked/`` the enrolment
credential with the status list the town publishes once it revokes that box. The revocation is
made on a scratch copy of the aggregator's state, so the town's own log (and everything the
steps before wrote from it) stays as it is. Once certificates were issued, the first bundle as a
certificate credential too, tied to its export's offline proof (:func:`certificate_and_check`).
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .children import Procs, bin_path, run_command, run_json

CREDENTIALS = "credentials"


def _serve_once(procs: Procs, agg: Sequence[str], out: Path) -> None:
    """did.json and status-list.json as the read API serves them (a shop's cached copies)."""
    http = procs.start("http-credentials", [*agg, "http", "127.0.0.1:0"], stdout_pipe=True)
    try:
        assert http.stdout is not None
        url = json.loads(http.stdout.readline())["url"]
        for path, name in (("/.well-known/did.json", "did.json"),
                           ("/credentials/status", "status-list.json")):
            with urllib.request.urlopen(url + path, timeout=30) as r:
                (out / name).write_bytes(r.read())
    finally:
        procs.stop("http-credentials")


def _revoked_list(agg_dir: Path, scratch: Path, device_id: str, dest: Path) -> None:
    """The status list after revoking ``device_id``, on a scratch copy of the aggregator."""
    shutil.copytree(agg_dir, scratch)
    conf = scratch / "aggregator.toml"
    conf.write_text(conf.read_text().replace(str(agg_dir), str(scratch)))
    cmd = [bin_path("eco-aggregator"), "--config", str(conf)]
    try:
        run_json([*cmd, "revoke", device_id, "--reason", "demo: the household moved away"])
        run_json([*cmd, "credential", "status-list", "--out", str(dest)])
    finally:
        shutil.rmtree(scratch)


def _checked(out: Path, runs: Sequence[tuple[Path, Sequence[str], int]], log_file: Path) -> bool:
    """``eco-verify credential PATH --did-document did.json EXTRA…`` for each run, printed and
    kept in ``log_file``; True when each exits as expected (0 accepted, 1 refused)."""
    ok = True
    log = []
    for credential, extra, expected in runs:
        r = run_command([bin_path("eco-verify"), "credential", str(credential),
                         "--did-document", str(log_file.parent / "did.json"), *extra])
        verdict = (r.stdout or r.stderr).strip().splitlines()[:1]
        shown = credential.relative_to(out)
        print(f"demo: eco-verify credential {shown}: {verdict[0] if verdict else r.returncode}")
        said = " ".join(str(Path(x).relative_to(out)) if x.startswith(str(out)) else x
                        for x in extra)
        log.append(f"$ eco-verify credential {shown} {said}\n"
                   f"{r.stdout}{r.stderr}exit {r.returncode}\n")
        ok &= r.returncode == expected
    log_file.write_text("\n".join(log))
    return ok


def issue_and_check(out: Path, agg: Sequence[str], procs: Procs,
                    agents: Sequence[dict[str, Any]], points: dict[str, Any],
                    pv_report_dir: Path) -> bool:
    """Issue, publish and check, for the household with the most points (``points``: what
    ``eco-aggregator points`` printed); True when every credential is accepted and every
    altered or revoked copy refused (``credentials/verify.txt`` keeps what eco-verify said)."""
    d = out / CREDENTIALS
    d.mkdir()
    balances = {h["household"]: h["balance"] for h in points["households"]}
    first = max(agents, key=lambda a: balances.get(a["household"], -1))
    household, device_id = str(first["household"]), str(first["device_id"])
    run_json([*agg, "credential", "points", household, "--out", str(d / "points-statement.json")])
    shutil.copy(pv_report_dir / "report-credential.json", d / "batch-summary.json")
    run_json([*agg, "credential", "enrolment", device_id, "--out", str(d / "enrolment.json")])
    _serve_once(procs, agg, d)

    (d / "tampered").mkdir()
    statement = json.loads((d / "points-statement.json").read_text())
    statement["credentialSubject"]["balance"] += 10_000
    (d / "tampered" / "points-statement.json").write_text(json.dumps(statement, indent=1))
    (d / "revoked").mkdir()
    shutil.copy(d / "enrolment.json", d / "revoked" / "enrolment.json")
    _revoked_list(out / "aggregator", out / "aggregator-revoked-scratch", device_id,
                  d / "revoked" / "status-list.json")

    listed = ["--status-list", str(d / "status-list.json")]
    return _checked(out, [(d / "points-statement.json", listed, 0),
                          (d / "batch-summary.json", listed, 0),
                          (d / "enrolment.json", listed, 0),
                          (d / "tampered" / "points-statement.json", listed, 1),
                          (d / "revoked" / "enrolment.json",
                           ["--status-list", str(d / "revoked" / "status-list.json")], 1)],
                    d / "verify.txt")


def certificate_and_check(out: Path, agg: Sequence[str]) -> bool:
    """The first certificate bundle the log issued (``certificates list``) as a credential,
    ``credentials/certificate.json``, tied to its export's offline proof
    (``credentials/certificate-export/``, made at the same checkpoint) and checked with
    ``eco-verify credential --certificates``; ``tampered/certificate.json`` has its face value
    raised and must be refused. Runs after :func:`issue_and_check` (it uses its ``did.json``)
    and after the certificates step: without an issued bundle the demo stops here, saying so.
    True when the credential is accepted and the tampered copy refused
    (``verify-certificate.txt`` keeps what eco-verify said; ``verify.txt`` stays the other
    credentials')."""
    d = out / CREDENTIALS
    if not (d / "did.json").exists():
        raise SystemExit(f"demo: {d / 'did.json'} is missing: run issue_and_check first")
    bundles = run_json([*agg, "certificates", "list"])["bundles"]
    if not bundles:
        raise SystemExit("demo: the log issued no certificate bundle, so there is no "
                         "certificate credential to issue: run the certificates step "
                         "(certificates.issue) before the credentials step")
    first = str(bundles[0]["issuance_id"])
    credential = d / "certificate.json"
    run_json([*agg, "credential", "certificate", first, "--out", str(credential)])
    export = d / "certificate-export"
    run_json([*agg, "certificates", "export", "--out", str(export), "--household",
              str(bundles[0]["household"])])
    (d / "tampered").mkdir(exist_ok=True)
    forged = json.loads(credential.read_text())
    forged["credentialSubject"]["certificate"]["bundle_quantity"] += 1_000
    forged["credentialSubject"]["certificate"]["certificate_bundle_id_range_end"] += 1_000
    (d / "tampered" / "certificate.json").write_text(json.dumps(forged, indent=1))
    against = ["--certificates", str(export)]
    return _checked(out, [(credential, against, 0),
                          (d / "tampered" / "certificate.json", against, 1)],
                    d / "verify-certificate.txt")


__all__ = ["CREDENTIALS", "certificate_and_check", "issue_and_check"]

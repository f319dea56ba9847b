"""Is the From of a mail its sender's? A fact for staff, never a gate (security.md §4).

Behind our front MTA the TCP peer is our relay, so triage checks nothing itself: it reads the
`Authentication-Results` field our MTA added. That field is trusted only when it is the topmost
`Authentication-Results` field of the mail, its authserv-id equals ours (`TRIAGE_AUTHSERV_ID`,
compared case-insensitively without a trailing dot), and at most `TRIAGE_AUTHSERV_HOPS` `Received`
fields (our own MTA's) stand above it. Any other field, even one naming our authserv-id (forged
inside the member's mail, below ours, below another hop, or in a forwarded part), is never read.

Three outcomes:
- **verified**: DMARC pass for the From domain (or, without a DMARC verdict, a DKIM pass whose
  signing domain is the From domain or a parent of it);
- **not verified**: DMARC fail for the From domain, a DMARC result for another domain than the
  From's, or a From that parses ambiguously (never evidence of identity);
- **unchecked**: no authserv-id configured, no trusted field, or a trusted field that gives no
  answer for the From domain (no DMARC policy, temporary errors). Shown neutrally.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from triage.authenticity.authres import AuthResults, MethodResult, normalise_id, parse_authres
from triage.config import Settings
from triage.parsing.model import ParsedMail


class SenderStatus(enum.Enum):
    VERIFIED = "verified"
    NOT_VERIFIED = "not verified"
    UNCHECKED = "unchecked"


# Worst first: a case shows the worst of its mails.
SEVERITY: Final = (SenderStatus.NOT_VERIFIED, SenderStatus.UNCHECKED, SenderStatus.VERIFIED)
DOMAIN_CHARS: Final = 100  # of a From domain quoted in a note


@dataclass(frozen=True)
class SenderCheck:
    status: SenderStatus
    detail: str  # no address: at most the From domain and our authserv-id


def trusted_results(mail: ParsedMail, authserv_id: str, hops: int) -> AuthResults | None:
    """The results of the topmost `Authentication-Results` field, if it is our MTA's."""
    ours = normalise_id(authserv_id)
    received = 0
    for name, value in mail.headers:
        low = name.lower()
        if low == "received":
            received += 1
        elif low == "authentication-results":
            if received > hops:
                return None  # below another hop: not added by our MTA
            parsed = parse_authres(value)
            if parsed is None or normalise_id(parsed.authserv_id) != ours:
                return None  # the topmost field is not ours: ours, if any, is not the top one
            return parsed
    return None


def _domain(value: str | None) -> str | None:
    if not value:
        return None
    return value.rpartition("@")[2].strip().lower().rstrip(".") or None


def _aligned(signer: str | None, from_domain: str) -> bool:
    return signer is not None and (from_domain == signer or from_domain.endswith("." + signer))


def _first(results: AuthResults, method: str) -> MethodResult | None:
    return next((item for item in results.results if item.method == method), None)


def _dkim_pass(results: AuthResults, from_domain: str) -> bool:
    return any(
        item.method == "dkim"
        and item.result == "pass"
        and _aligned(_domain(item.prop("header.d") or item.prop("header.i")), from_domain)
        for item in results.results
    )


def judge_results(results: AuthResults, from_domain: str) -> SenderCheck:
    """What our MTA's results say about the From domain."""
    dmarc = _first(results, "dmarc")
    if dmarc is not None:
        about = _domain(dmarc.prop("header.from"))
        about = about[:DOMAIN_CHARS] if about else None
        if about is not None and about != from_domain:
            return SenderCheck(
                SenderStatus.NOT_VERIFIED, f"DMARC result is for {about}, not the From domain {from_domain}"
            )
        if dmarc.result == "pass":
            return SenderCheck(SenderStatus.VERIFIED, f"DMARC pass for {from_domain}")
        if dmarc.result == "fail":
            return SenderCheck(SenderStatus.NOT_VERIFIED, f"DMARC fail for {from_domain}")
    if _dkim_pass(results, from_domain):
        return SenderCheck(SenderStatus.VERIFIED, f"DKIM pass for {from_domain}")
    if dmarc is not None:
        return SenderCheck(SenderStatus.UNCHECKED, f"DMARC {dmarc.result[:20]} for {from_domain}")
    return SenderCheck(SenderStatus.UNCHECKED, f"no DMARC result for {from_domain}")


def check_sender(mail: ParsedMail, settings: Settings) -> SenderCheck:
    """The sender mark of one mail (see the module's docstring)."""
    if not settings.authserv_id:
        return SenderCheck(SenderStatus.UNCHECKED, "no authserv-id configured (TRIAGE_AUTHSERV_ID)")
    if mail.from_addr is None or not mail.from_addr.domain:
        if mail.from_ambiguous and mail.header("From") is not None:
            return SenderCheck(SenderStatus.NOT_VERIFIED, "From is ambiguous: not evidence of identity")
        return SenderCheck(SenderStatus.UNCHECKED, "no From address")
    if mail.from_ambiguous:
        return SenderCheck(SenderStatus.NOT_VERIFIED, "From is ambiguous: not evidence of identity")
    results = trusted_results(mail, settings.authserv_id, settings.authserv_hops)
    if results is None:
        ours = normalise_id(settings.authserv_id)
        return SenderCheck(SenderStatus.UNCHECKED, f"no Authentication-Results of {ours} at the top")
    from_domain = mail.from_addr.domain.rstrip(".")[:DOMAIN_CHARS]
    return judge_results(results, from_domain)

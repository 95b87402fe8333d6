"""The trust root: which keys may sign the ledger, for what, and when.

The file format is OpenSSH's `allowed_signers` (see ssh-keygen(1), "ALLOWED SIGNERS"), so
the very same file works with `git -c gpg.ssh.allowedSignersFile=…` and
`ssh-keygen -Y verify -f …`; the revocation list is a plain list of public keys, which
`ssh-keygen -Y verify -r …` also accepts. Times are checked the way OpenSSH checks them
(valid-after ≤ t ≤ valid-before, both inclusive) with one deliberate difference: a time
without a trailing `Z` is read as UTC, never as the machine's local time, so a verdict
never depends on where verification runs (write the `Z`, or run ssh-keygen with TZ=UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from promote_action.errors import InputError, MissingFileError

from .dsse import verify_envelope_signer
from .errors import SignatureError
from .keys import normalize_public_key, public_key_fingerprint
from .sshsig import sshsig_verify

MAX_TRUST_FILE_BYTES = 1024 * 1024
_TIME = re.compile(r"(\d{8})(\d{4})?(\d{2})?(Z?)")
_OPTION = re.compile(r'([A-Za-z-]+)(?:="([^"]*)")?')
_KNOWN_KEY_TYPE = re.compile(r"(ssh-|ecdsa-|sk-|rsa-)[A-Za-z0-9@.\-]+")


@dataclass
class AllowedSigner:
    principals: list[str]
    public_key: str
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    namespaces: list[str] | None = None
    line: int = 0

    def why_not(self, at: datetime, namespace: str, principal: str | None) -> str:
        """Empty string when this line allows the signature, else the reason."""
        if principal is not None and not match_pattern_list(principal, self.principals):
            return f"principal {principal!r} is not listed for this key (line {self.line})"
        if self.namespaces is not None and not match_pattern_list(namespace, self.namespaces):
            return f"namespace {namespace!r} is not allowed for this key (line {self.line})"
        if self.valid_after is not None and at < self.valid_after:
            return (f"key not yet valid at {_show(at)} (valid-after "
                    f"{_show(self.valid_after)}, line {self.line})")
        if self.valid_before is not None and at > self.valid_before:
            return (f"key expired at {_show(at)} (valid-before "
                    f"{_show(self.valid_before)}, line {self.line})")
        return ""


def _show(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def match_pattern_list(value: str, patterns: list[str]) -> bool:
    """OpenSSH match_pattern_list: `*`/`?` wildcards, a `!pattern` match denies outright."""
    found = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in body)
        if re.fullmatch(regex, value, re.DOTALL):
            if negated:
                return False
            found = True
    return found


def parse_time(text: str) -> datetime:
    """`YYYYMMDD[HHMM[SS]][Z]` as an aware UTC datetime (see module docstring)."""
    m = _TIME.fullmatch(text)
    if m is None or (m.group(3) and not m.group(2)):
        raise ValueError(f"time {text!r} is not YYYYMMDD[HHMM[SS]][Z]")
    digits = m.group(1) + (m.group(2) or "0000") + (m.group(3) or "00")
    return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def _split_field(rest: str) -> tuple[str, str]:
    """First whitespace-delimited field, honouring double quotes (as OpenSSH does)."""
    quoted = False
    for i, c in enumerate(rest):
        if c == '"':
            quoted = not quoted
        elif c in " \t" and not quoted:
            return rest[:i], rest[i:].lstrip()
    if quoted:
        raise ValueError("unterminated double quote")
    return rest, ""


def _parse_options(text: str, signer: AllowedSigner) -> None:
    pos = 0
    while pos < len(text):
        m = _OPTION.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot parse options near {text[pos:pos + 30]!r}")
        name, value = m.group(1).lower(), m.group(2)
        if name == "cert-authority":
            raise ValueError("cert-authority is not supported: list each signing key "
                             "explicitly")
        if name not in ("namespaces", "valid-after", "valid-before"):
            raise ValueError(f"unknown option {m.group(1)!r}")
        if value is None:
            raise ValueError(f'option {name} needs a double-quoted value ({name}="...")')
        if name == "namespaces":
            signer.namespaces = [ns for ns in value.split(",") if ns]
            if not signer.namespaces:
                raise ValueError('namespaces="" allows nothing; remove the line instead')
        else:
            setattr(signer, name.replace("-", "_"), parse_time(value))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise ValueError(f"expected ',' between options near {text[pos:pos + 30]!r}")
            pos += 1


def parse_allowed_signer(line: str, lineno: int) -> AllowedSigner:
    principals_field, rest = _split_field(line.strip())
    if _KNOWN_KEY_TYPE.fullmatch(principals_field):
        raise ValueError("line starts with a key type: the principals field is missing")
    principals = [p for p in principals_field.strip('"').split(",") if p]
    if not principals or not rest:
        raise ValueError("expected: principals [options] ssh-ed25519 <base64> [comment]")
    signer = AllowedSigner(principals, "", line=lineno)
    if not _KNOWN_KEY_TYPE.match(rest):
        options, rest = _split_field(rest)
        _parse_options(options, signer)
    keytype, rest = _split_field(rest)
    keydata, _comment = _split_field(rest)
    try:
        signer.public_key = normalize_public_key(f"{keytype} {keydata}")
    except InputError as e:
        raise ValueError(e.message) from None
    if (signer.valid_after and signer.valid_before
            and signer.valid_before <= signer.valid_after):
        raise ValueError("valid-before must be later than valid-after")
    return signer


def read_trust_file(path: Path) -> str:
    """A trust file's text, size-limited, as one clear error naming the file."""
    try:
        if path.stat().st_size > MAX_TRUST_FILE_BYTES:
            raise InputError("file is too large for a trust file", file=str(path))
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise MissingFileError("trust file not found", file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("trust file is not UTF-8", file=str(path)) from None
    except OSError as e:
        raise InputError(f"cannot read trust file ({e.strerror})", file=str(path)) from None


def _lines(text: str) -> list[tuple[int, str]]:
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append((n, line))
    return out


@dataclass
class TrustRoot:
    signers: list[AllowedSigner]
    revoked: dict[str, int] = field(default_factory=dict)  # public key -> line number
    source: str = "allowed_signers"
    revoked_source: str | None = None

    @classmethod
    def load(cls, allowed_signers: Path, revoked: Path | None = None) -> TrustRoot:
        return cls.parse(read_trust_file(allowed_signers), source=str(allowed_signers),
                         revoked_text=read_trust_file(revoked) if revoked is not None else None,
                         revoked_source=str(revoked) if revoked is not None else None)

    @classmethod
    def parse(cls, text: str, *, source: str = "allowed_signers",
              revoked_text: str | None = None,
              revoked_source: str | None = None) -> TrustRoot:
        """From file contents, e.g. blobs read from the default branch with pygit2."""
        signers = []
        for n, line in _lines(text):
            try:
                signers.append(parse_allowed_signer(line, n))
            except ValueError as e:
                raise InputError(str(e), file=source, field=f"line {n}") from None
        if not signers:
            raise InputError("no allowed signers: an empty trust root trusts nothing",
                             file=source)
        revoked: dict[str, int] = {}
        rsource = revoked_source or "revoked_signers"
        for n, line in _lines(revoked_text or ""):
            try:
                revoked.setdefault(normalize_public_key(line), n)
            except InputError as e:
                raise InputError(e.message, file=rsource, field=f"line {n}") from None
        return cls(signers, revoked, source, rsource if revoked_text is not None else None)

    def is_trusted(self, public_openssh: str, at: datetime, namespace: str = "git",
                   principal: str | None = None) -> tuple[bool, str]:
        """(True, "") if some allowed_signers line admits the key at `at`, else why not.

        Revocation wins over every line: it is for compromised keys, so everything they
        ever signed stops verifying. Routine rotation uses valid-before instead.
        """
        if at.tzinfo is None:
            raise ValueError("trust checks need a timezone-aware time")
        key = normalize_public_key(public_openssh)
        fpr = public_key_fingerprint(key)
        if key in self.revoked:
            where = f"{self.revoked_source}: line {self.revoked[key]}"
            return False, f"key {fpr} is revoked ({where})"
        reasons = [s.why_not(at, namespace, principal) for s in self.signers
                   if s.public_key == key]
        if not reasons:
            return False, f"key {fpr} is not in {self.source}"
        if "" in reasons:
            return True, ""
        return False, f"key {fpr}: " + "; ".join(reasons)

    def is_trusted_at_commit_time(self, public_openssh: str, epoch_seconds: int,
                                  namespace: str = "git") -> tuple[bool, str]:
        """`is_trusted` at a git commit/tag time (whole seconds, UTC).

        The one definition of "trusted at time T" shared by `verify` (which judges each
        commit at its committer time) and the ledger writers (which refuse, before writing,
        to sign a commit that verify would reject at the time the commit will carry).
        """
        return self.is_trusted(public_openssh, datetime.fromtimestamp(epoch_seconds, tz=UTC),
                               namespace)

    def public_keys(self) -> list[str]:
        """Every listed, non-revoked key (time windows not applied), in file order."""
        out: list[str] = []
        for s in self.signers:
            if s.public_key not in self.revoked and s.public_key not in out:
                out.append(s.public_key)
        return out

    def principals_for(self, public_openssh: str) -> list[str]:
        key = normalize_public_key(public_openssh)
        return sorted({p for s in self.signers if s.public_key == key for p in s.principals})

    def verify_sshsig(self, armored: str, data: bytes, at: datetime,
                      namespace: str = "git") -> str:
        """Signer key of a valid AND trusted signature, else SignatureError with why."""
        signer = sshsig_verify(armored, data, namespace)
        ok, why = self.is_trusted(signer, at, namespace)
        if not ok:
            raise SignatureError(why)
        return signer

    def verify_envelope(self, envelope: Any, at: datetime, *, namespace: str = "git",
                        payload_type: str | None = None) -> tuple[bytes, str]:
        """(payload, signer) of a DSSE envelope signed by a key trusted at `at`.

        The envelope lives inside a ledger commit and is signed by the same key, so it is
        judged under the same namespace ("git") and the commit's time.
        """
        payload, signer = verify_envelope_signer(envelope, self.public_keys(),
                                                 payload_type=payload_type)
        ok, why = self.is_trusted(signer, at, namespace)
        if not ok:
            raise SignatureError(why)
        return payload, signer

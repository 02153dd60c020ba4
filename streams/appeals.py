"""Appeals count only when a configured reviewer signed them.

Anyone who can write ``enforcement.appeals.v1`` could otherwise reinstate any suspension: an
``action_id`` is computable (a hash of subject, case and action) and the payload's
``reviewer`` is free text. So an appeal is accepted only with a valid signature (the same
header scheme as signed actions, ``streams/signing/core.py``, over the appeal's topic, key and
value) by one of the reviewer keys configured in ``TRADEWATCH_REVIEWER_KEYS`` /
``TRADEWATCH_REVIEWER_KEYS_DIR``; the accepted appeal's ``reviewer`` becomes the key id that
signed it (who decided is who holds the key). Everything else is rejected with a reason and
goes to the dead-letter topic (live) or the invalid list (replay), like any invalid input.
The core then checks that the appeal names a suspension tradewatch issued in the account's
open case (otherwise: ``unknown_action``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from streams.core.events import Appeal
from streams.core.rejections import BAD_SIGNATURE, UNSIGNED_APPEAL
from streams.decode import DecodeError
from streams.signing import ENV_REVIEWER_KEYS, SignatureError, SigningKeys, verify


def verified_appeal(appeal: Appeal, reviewers: SigningKeys | None, topic: str, key: bytes | None,
                    value: bytes | None, headers: Any) -> Appeal:
    """The appeal, its reviewer set to the key id that signed it; DecodeError if unsigned or
    not signed by a configured reviewer key."""
    if reviewers is None:
        raise DecodeError(UNSIGNED_APPEAL, f"no reviewer keys are configured ({ENV_REVIEWER_KEYS}): no appeal counts")
    try:
        key_id = verify(reviewers, topic, key, value, headers)
    except SignatureError as error:
        reason = UNSIGNED_APPEAL if error.reason == "missing_signature" else BAD_SIGNATURE
        raise DecodeError(reason, str(error)) from None
    return replace(appeal, reviewer=key_id)

"""Errors of the fix area, beside the generator interface they belong to.

    FixError            base of what the fix service refuses or fails on
    ├── FixNotApplicable  the finding has no safe mechanical fix here (the reason says why and what
    │                     to do by hand); also an InvalidInput, since the request cannot succeed as is
    ├── BackupUnavailable the previous bytes of a fix are gone (purged by retention, or the key file
    │                     that decrypts them is missing), so it cannot be reverted automatically
    └── ConfirmationRequired  a write was asked without a confirmation: no elicitation answer and no
                          matching `confirm_digest` of the plan shown

Content changes since planning are `Conflict`; paths outside the roots or through links are
`PathNotAllowed` (both from `secaudit.tools.errors`).
"""

from __future__ import annotations

from secaudit.tools.errors import InvalidInput, SecauditError

__all__ = ["BackupUnavailable", "ConfirmationRequired", "FixError", "FixNotApplicable"]


class FixError(SecauditError):
    code = "fix_error"


class FixNotApplicable(FixError, InvalidInput):
    code = "fix_not_applicable"


class BackupUnavailable(FixError):
    code = "backup_unavailable"


class ConfirmationRequired(FixError):
    code = "confirmation_required"

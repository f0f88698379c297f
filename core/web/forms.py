"""Form helpers shared by both apps."""
from __future__ import annotations

from flask_wtf import FlaskForm

from core.errors import DomainError


def place_error(form: FlaskForm, err: DomainError) -> None:
    """Put a domain error at the field it names ("address-city" reaches a subform's field),
    else at the top of the form."""
    target = None
    if err.field:
        name, _, sub = err.field.partition("-")
        target = form._fields.get(name)
        if sub and target is not None:
            target = getattr(target, "form", None) and target.form._fields.get(sub)
    if target is not None:
        target.errors = [*target.errors, str(err)]
    else:
        form.form_errors.append(str(err))

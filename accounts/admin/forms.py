"""The admin's forms: the ban action's, and the password forms, through
`accounts.passwords.password_set_by_operator` (a password set in the admin ends the user's
sessions like one changed through the API)."""

from contextvars import ContextVar

from django import forms
from django.contrib.admin.forms import AdminPasswordChangeForm as OwnPasswordForm
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpResponseRedirect

from accounts.bans import BAN_REASON_MAX_LENGTH
from accounts.models import User
from accounts.passwords import password_set_by_operator
from authsvc.http import ClientInfo, client_info

# Who is acting and from where, for the form below: Django's view builds it with the user
# and the data only (UserAdmin.user_change_password sets this around that view).
acting_operator: ContextVar[tuple[User | None, ClientInfo | None]] = ContextVar(
    "acting_operator", default=(None, None)
)


class OperatorPasswordForm(AdminPasswordChangeForm):
    """The user page's "change password" (or "disable password-based authentication")."""

    def save(self, commit=True):
        if not commit:
            return super().save(commit=False)
        by, client = acting_operator.get()
        usable = self.cleaned_data.get("set_usable_password", True)
        password_set_by_operator(
            user=self.user,
            new_password=self.cleaned_data["password1"] if usable else None,
            by=by,
            client=client,
        )
        return self.user


class OwnPasswordChangeView(PasswordChangeView):
    """The admin's "change my password" page: every other session of the staff member
    ends; the admin session they are using stays (and is re-keyed to the new hash)."""

    form_class = OwnPasswordForm
    sid_key = ""

    def form_valid(self, form):
        password_set_by_operator(
            user=form.user,
            new_password=form.cleaned_data["new_password1"],
            by=self.request.user,
            client=client_info(self.request),
            keep_session_id=self.request.session.get(self.sid_key),
        )
        update_session_auth_hash(self.request, form.user)
        return HttpResponseRedirect(self.get_success_url())


class BanForm(forms.Form):
    reason = forms.CharField(max_length=BAN_REASON_MAX_LENGTH, widget=forms.Textarea)
    until = forms.DateTimeField(
        required=False,
        help_text="Leave empty for a permanent ban. UTC, e.g. 2026-12-31 18:00.",
    )

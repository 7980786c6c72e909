"""Forms parse and bound input only; the rules live in the services they feed."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from naeq.core.errors import ApplicationError


class CountyMailingForm(forms.Form):
    mailing_address = forms.CharField(label=_("邮寄地址"), max_length=200, required=False)
    # Mirrors the database constraint region_postcode_digits, to say what is wrong in words.
    postcode = forms.CharField(label=_("邮政编码"), max_length=6, required=False,
                               validators=[RegexValidator(r"^[0-9]{6}$", _("邮政编码应为6位数字。"))])
    mailing_recipient = forms.CharField(label=_("收件人"), max_length=60, required=False)
    mailing_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    supervision_hotline = forms.CharField(
        label=_("监督专线电话"), max_length=20, required=False,
        help_text=_("向社会公布的本地监督专线，印在样本校公示栏上，测试当天有人值守。"),
        validators=[RegexValidator(r"^[0-9][0-9 \-]{4,19}$", _("电话号码只能包含数字、空格和连字符。"))])

    def add_application_error(self, error: ApplicationError) -> None:
        """Show the service's problems next to the fields they concern (or at the top)."""
        if not error.problems:
            self.add_error(None, error.message)
        for problem in error.problems:
            target = problem.field if problem.field in self.fields else None
            self.add_error(target, problem.reason)

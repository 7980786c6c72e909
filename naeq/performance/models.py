"""Performance tasks as database rows: how often a listening item's audio was played, the headset check, and
the recorded responses of singing and speaking tasks.

* :class:`PlayCount` is written when a play *starts* (the client asks before it plays), one row per attempt ×
  owner (item or stimulus) × media file, so the play limit is enforced by the server and survives reloads and a
  change of computer. Preloading the audio is not a play.
* :class:`HeadsetCheck` records that the test taker heard the test tone (or did not): the proctor sees it.
* :class:`Recording` is one take of one recorded item of one attempt. The bytes arrive in chunks appended to a
  partial file (resumable: ``received`` is what the server holds); on completion the server recomputes the
  SHA-256 and compares it with the one the browser computed, and only then is the take ``complete``.
* :class:`RerecordPermit` is a proctor's permission, with a reason, for one further take.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MediaOwner(models.TextChoices):
    ITEM = "item", _("题目")
    STIMULUS = "stimulus", _("共享材料")


class PlayCount(models.Model):
    attempt = models.ForeignKey("delivery.Attempt", on_delete=models.CASCADE, related_name="+")
    owner_kind = models.CharField(_("所属"), max_length=8, choices=MediaOwner.choices)
    owner = models.CharField(_("题目或材料编号"), max_length=40)
    media = models.CharField(_("音频文件"), max_length=100)
    plays = models.PositiveSmallIntegerField(_("已播放次数"), default=0)
    first_at = models.DateTimeField(_("首次播放"), default=timezone.now)
    last_at = models.DateTimeField(_("最近播放"), default=timezone.now)

    class Meta:
        verbose_name = _("播放次数")
        verbose_name_plural = _("播放次数")
        constraints = [models.UniqueConstraint(fields=["attempt", "owner_kind", "owner", "media"],
                                               name="playcount_once")]

    def __str__(self) -> str:
        return f"{self.attempt_id}:{self.owner}:{self.media}={self.plays}"


class HeadsetCheck(models.Model):
    attempt = models.OneToOneField("delivery.Attempt", on_delete=models.CASCADE, related_name="+")
    heard = models.BooleanField(_("听到测试音"))
    tries = models.PositiveSmallIntegerField(_("检测次数"), default=1)
    checked_at = models.DateTimeField(_("检测时间"), default=timezone.now)

    class Meta:
        verbose_name = _("耳机检测")
        verbose_name_plural = _("耳机检测")

    def __str__(self) -> str:
        return f"{self.attempt_id}:{self.heard}"


class RecordingStatus(models.TextChoices):
    UPLOADING = "uploading", _("上传中")
    COMPLETE = "complete", _("已完成")


class Recording(models.Model):
    attempt = models.ForeignKey("delivery.Attempt", on_delete=models.PROTECT, related_name="+")
    item = models.CharField(_("题目编号"), max_length=40)
    take = models.PositiveSmallIntegerField(_("第几次录音"), default=1)
    status = models.CharField(_("状态"), max_length=10, choices=RecordingStatus.choices,
                              default=RecordingStatus.UPLOADING)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    received = models.PositiveBigIntegerField(_("已接收（字节）"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    duration_ms = models.PositiveIntegerField(_("时长（毫秒）"), default=0)
    mime = models.CharField(_("格式"), max_length=60)
    created_at = models.DateTimeField(_("开始上传"), default=timezone.now)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("录音")
        verbose_name_plural = _("录音")
        ordering = ["attempt_id", "item", "take"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "item", "take"], name="recording_take_unique"),
            models.CheckConstraint(name="recording_received_le_size", condition=Q(received__lte=models.F("size"))),
            models.CheckConstraint(name="recording_complete_has_time",
                                   condition=Q(status="uploading") | Q(completed_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id}:{self.item}#{self.take}"


class RerecordPermit(models.Model):
    attempt = models.ForeignKey("delivery.Attempt", on_delete=models.CASCADE, related_name="+")
    item = models.CharField(_("题目编号"), max_length=40)
    take = models.PositiveSmallIntegerField(_("允许的录音次序"))
    reason = models.CharField(_("理由"), max_length=300)
    allowed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("批准人"), on_delete=models.PROTECT,
                                   related_name="+")
    allowed_at = models.DateTimeField(_("批准时间"), default=timezone.now)

    class Meta:
        verbose_name = _("重录许可")
        verbose_name_plural = _("重录许可")
        constraints = [models.UniqueConstraint(fields=["attempt", "item", "take"], name="rerecordpermit_once")]

    def __str__(self) -> str:
        return f"{self.attempt_id}:{self.item}#{self.take}"


class RoomCall(models.Model):
    """One call of the singing/oral room (演唱与口语测试室): the proctor called the next small group, these test
    IDs, at this time. Group ``n`` is the session's ``n``-th call; the groups are formed in test-ID order from the
    takers not called yet, ``group_size`` at a time (:func:`naeq.performance.services.room_call_next`)."""

    session = models.ForeignKey("delivery.TestSession", on_delete=models.CASCADE, related_name="+")
    group = models.PositiveSmallIntegerField(_("组号"))
    group_size = models.PositiveSmallIntegerField(_("每组人数"))
    takers = models.JSONField(_("本组测试编号"), default=list)
    called_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("叫组人"), on_delete=models.PROTECT,
                                  related_name="+")
    called_at = models.DateTimeField(_("叫组时间"), default=timezone.now)

    class Meta:
        verbose_name = _("叫组记录")
        verbose_name_plural = _("叫组记录")
        ordering = ["session_id", "group"]
        constraints = [
            models.UniqueConstraint(fields=["session", "group"], name="roomcall_group_once"),
            models.CheckConstraint(name="roomcall_group_size_range",
                                   condition=Q(group_size__gte=1) & Q(group_size__lte=30)),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}:{self.group}"

"""An instrument as read from a file, before it becomes rows: plain dataclasses that remember where each item
came from (sheet and row of a workbook, or the file of a QTI package), so every problem can point at it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Item field -> the column of the 题目 sheet it comes from (also the field label in problems from QTI).
COLUMN = {
    "code": "题目编号", "block": "题块", "screen": "屏号", "type": "题型", "stem": "题干", "options": "选项",
    "rows": "子题/行", "key": "答案", "max_score": "满分", "constraints": "作答限制", "show_if": "显示条件",
    "skip": "跳转", "stimulus": "共享材料", "media": "图片/音频", "required": "必答", "dimension": "维度",
    "indicator_1": "一级指标", "indicator_2": "二级指标", "indicator_3": "三级指标",
    # Performance tasks (issue 9): stored in ``constraints`` under the same names; optional columns.
    "play_limit": "播放次数", "record": "录音", "record_seconds": "录音时长",
}
#: The columns a workbook may leave out (older workbooks have none of them).
OPTIONAL_COLUMNS = ("play_limit", "record", "record_seconds")
#: Keys of ``constraints`` that have a column of their own (not written in 作答限制).
PERFORMANCE_KEYS = OPTIONAL_COLUMNS

# The settings of performance tasks (read by naeq.performance.itemsettings, which sits above this layer).
RECORD_KINDS = ("speaking", "singing")
#: 录音 column spellings -> kind.
RECORD_NAMES = {"speaking": "speaking", "singing": "singing", "口语": "speaking", "英语口语": "speaking",
                "演唱": "singing", "歌唱": "singing"}
RECORD_LABELS = {"speaking": "口语", "singing": "演唱"}
DEFAULT_RECORD_SECONDS = 60
MIN_RECORD_SECONDS, MAX_RECORD_SECONDS = 5, 600
ITEM_SHEET, STIMULUS_SHEET, BOOKLET_SHEET, INFO_SHEET, NOTES_SHEET = "题目", "共享材料", "题本", "说明", "填写说明"


@dataclass
class ItemSpec:
    code: str
    type: str
    stem: str
    block: str = "Q"
    screen: int = 1
    options: list[dict[str, str]] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)
    key: Any = None
    max_score: float = 0.0
    constraints: dict[str, Any] = field(default_factory=dict)
    show_if: dict[str, Any] | None = None
    skip: dict[str, Any] | None = None
    stimulus: str | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    required: bool = False
    dimension: str = ""
    indicator_1: str = ""
    indicator_2: str = ""
    indicator_3: str = ""
    # where it came from
    source: str = ITEM_SHEET
    row: int | None = None

    def model_fields(self) -> dict[str, Any]:
        return {"code": self.code, "type": self.type, "stem": self.stem, "block": self.block, "screen": self.screen,
                "options": self.options, "rows": self.rows, "key": self.key, "max_score": self.max_score,
                "constraints": self.constraints, "show_if": self.show_if, "skip": self.skip,
                "media": self.media, "required": self.required, "dimension": self.dimension,
                "indicator_1": self.indicator_1, "indicator_2": self.indicator_2, "indicator_3": self.indicator_3}


@dataclass
class StimulusSpec:
    code: str
    title: str = ""
    body: str = ""
    media: list[dict[str, Any]] = field(default_factory=list)
    source: str = STIMULUS_SHEET
    row: int | None = None


@dataclass
class BookletSpec:
    number: int
    blocks: list[str]
    source: str = BOOKLET_SHEET
    row: int | None = None


@dataclass
class InstrumentSpec:
    code: str
    name: str = ""
    kind: str = ""
    time_limit_minutes: int | None = None
    shuffle_pages: bool = False
    items: list[ItemSpec] = field(default_factory=list)
    stimuli: list[StimulusSpec] = field(default_factory=list)
    booklets: list[BookletSpec] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)  # name -> bytes of the files supplied with it

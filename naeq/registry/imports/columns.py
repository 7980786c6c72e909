"""The template's columns and the value sets accepted in them."""

from __future__ import annotations

from naeq.registry.models import Ownership, SchoolLevel, UrbanRural

#: Template columns in order: header -> School field. Files are matched by header text, so order may differ.
HEADERS: dict[str, str] = {
    "学校标识码": "code",
    "学校名称": "name",
    "办学类型": "level",
    "城乡分类代码": "urban_rural",
    "举办者": "ownership",
    "四年级学生数": "g4_enrollment",
    "四年级班级数": "g4_classes",
    "八年级学生数": "g8_enrollment",
    "八年级班级数": "g8_classes",
}
FIELD_HEADER = {f: h for h, f in HEADERS.items()}
#: Other spellings seen in county files, mapped to the template header.
HEADER_ALIASES = {"学校代码": "学校标识码", "学校识别码": "学校标识码", "学校全称": "学校名称",
                  "城乡分类": "城乡分类代码", "城乡代码": "城乡分类代码", "学校类型": "办学类型"}
COUNT_FIELDS = ("g4_enrollment", "g4_classes", "g8_enrollment", "g8_classes")
REQUIRED = ("学校标识码", "学校名称", "办学类型", "城乡分类代码", "举办者")

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5_000  # a county has at most a few hundred schools
MAX_STUDENTS = 20_000  # per school and grade
MAX_CLASSES = 400
HEADER_SCAN_ROWS = 10
DATA_SHEET = "学校信息"
NOTES_SHEET = "填写说明"

LEVEL_LABELS: dict[str, str] = {str(label): value for value, label in SchoolLevel.choices}
LEVEL_LABELS.update({"九年一贯制": SchoolLevel.NINE_YEAR, "十二年一贯制": SchoolLevel.TWELVE_YEAR,
                     **{v: v for v in SchoolLevel.values}})
#: The statistics' 举办者 categories; all but 民办 are public schools.
OWNERSHIP_LABELS: dict[str, str] = {"公办": Ownership.PUBLIC, "民办": Ownership.PRIVATE,
                                    "教育部门": Ownership.PUBLIC, "其他部门": Ownership.PUBLIC,
                                    "地方企业": Ownership.PUBLIC, "事业单位": Ownership.PUBLIC,
                                    **{v: v for v in Ownership.values}}
URBAN_RURAL_LABELS: dict[str, str] = {str(label): value for value, label in UrbanRural.choices}


def _ur_option(value: str) -> str:
    return f"{value} {UrbanRural(value).label}"



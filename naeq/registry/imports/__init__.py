"""The school registry upload (属地学校信息): template, reading .xlsx/.csv, validation, the diff, atomic apply.

A county's information officer downloads the template (Chinese headers, a 填写说明 sheet, drop-down lists for
办学类型 / 城乡分类代码 / 举办者), fills in every school of the county that has grade-4 or grade-8 students, and
uploads it (Excel or CSV: UTF-8 with or without BOM, or GB18030 as Excel in China saves it).

Every problem of a file is collected in one pass, each naming the file, the row as Excel shows it, the column
header and a Chinese reason; any problem means nothing changes. A good file replaces the county's registry in one
transaction: the result lists the schools added, removed and changed (field: old → new). A school that other
records refer to (accounts, rosters, samples) cannot be removed. Uploads are refused unless the county's REGISTRY
submission is a draft or returned. Every import is audited with before and after.

The files county officers really send are forgiving in form and strict in content: a title row merged above the
header, a two-row header ("四年级" merged over "学生数 | 班级数"), full-width digits, codes typed as numbers or
saved as floats, blank rows and trailing empty columns are all read; a code shown in scientific notation
(1.6301E+09, its digits already lost), an unknown column, a wrong county prefix or a fractional count are errors.
"""

from naeq.registry.imports.apply import FieldChange, RegistryImportResult, SchoolChange, registry_import
from naeq.registry.imports.columns import HEADERS, MAX_BYTES
from naeq.registry.imports.export import progress_export_xlsx
from naeq.registry.imports.reading import SchoolRecord, parse_registry_file
from naeq.registry.imports.template import registry_export_xlsx, registry_template_csv, registry_template_xlsx

__all__ = [
    "HEADERS",
    "MAX_BYTES",
    "FieldChange",
    "RegistryImportResult",
    "SchoolChange",
    "SchoolRecord",
    "parse_registry_file",
    "progress_export_xlsx",
    "registry_export_xlsx",
    "registry_import",
    "registry_template_csv",
    "registry_template_xlsx",
]

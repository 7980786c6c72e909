"""The sample design file: a declarative YAML file validated into :class:`naeq.engines.sampling.SampleDesign`.

Every problem is reported with the file, the line, the dotted field path and a Chinese reason, all in one pass
(:class:`naeq.core.errors.InvalidInput`). ``default_design()`` reads ``naeq/sampling/designs/default.yaml``, the
design of DOMAIN.md (340 counties; 12 + 8 schools per county; 30 students per school and grade; JK2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import gettext as _

from naeq.core.errors import ProblemCollector
from naeq.cycles.config.yamlnodes import NULL_TAG, Fields, NodeReader, compose
from naeq.engines.sampling.spec import (
    COUNTY_SORT_KEYS,
    REPLICATE_SCHEMES,
    SCHOOL_CELL_KEYS,
    SCHOOL_SORT_KEYS,
    STUDENT_CELL_KEYS,
    CountyDesign,
    NonresponseDesign,
    ReplicateDesign,
    SampleDesign,
    SchoolDesign,
    StudentDesign,
)

DEFAULT_DESIGN_PATH = Path(__file__).with_name("designs") / "default.yaml"


class _DesignReader(NodeReader):
    def county_code(self, node: yaml.Node, path: str) -> str | None:
        value = self.scalar(node, path)
        if value is not None and not (len(value) == 6 and value.isdigit()):
            self.err(node, path, _("区县代码“%(code)s”应为 6 位数字。") % {"code": value})
            return None
        return value

    def keys(self, node: yaml.Node, path: str, allowed: tuple[str, ...], *, non_empty: bool = True
             ) -> tuple[str, ...] | None:
        values = self.items(node, path, self.one_of(allowed), non_empty=non_empty)
        if values is None or any(v is None for v in values):
            return None
        if len(set(values)) != len(values):
            self.err(node, path, _("列表中有重复的取值。"))
            return None
        return tuple(values)

    def optional_int(self, node: yaml.Node, path: str, low: int, high: int) -> int | bool | None:
        """An integer, or null (returned as True: 'explicitly none'); None after a reported problem."""
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
            return True
        return self.integer(node, path, low=low, high=high)

    def rho(self, node: yaml.Node, path: str) -> float | None:
        value = self.scalar(node, path)
        try:
            rho = float(value) if value is not None else None
        except ValueError:
            rho = None
        if rho is None or not 0.0 <= rho < 1.0:
            self.err(node, path, _("应为 0（含）到 1（不含）之间的小数。"))
            return None
        return rho


def _get(r: _DesignReader, m: Fields | None, path: str, key: str, parse: Any, default: Any) -> Any:
    if m is None or key not in m:
        return default
    return r.field(m, path, key, parse)


def _counties(r: _DesignReader, node: yaml.Node) -> CountyDesign | None:
    m = r.mapping(node, "counties", required=("total",),
                  optional=("min_per_province", "sort", "serpentine", "agreement", "application"))
    if m is None:
        return None
    d = CountyDesign()
    total = _get(r, m, "counties", "total", r.integer_in(1, 3000), None)
    minimum = _get(r, m, "counties", "min_per_province", r.integer_in(0, 200), d.min_per_province)
    sort = _get(r, m, "counties", "sort", lambda n, p: r.keys(n, p, COUNTY_SORT_KEYS), d.sort)
    serp = _get(r, m, "counties", "serpentine", r.boolean, d.serpentine)
    agree = _get(r, m, "counties", "agreement", lambda n, p: r.items(n, p, r.county_code, non_empty=False), [])
    appl = _get(r, m, "counties", "application", lambda n, p: r.items(n, p, r.county_code, non_empty=False), [])
    if None in (total, minimum, sort, serp, agree, appl) or None in (agree or []) or None in (appl or []):
        return None
    both = set(agree) & set(appl)
    if both:
        r.err(m["application"][1], "counties.application",
              _("区县 %(codes)s 同时列为协议县和申请县。") % {"codes": "、".join(sorted(both))})
        return None
    if minimum * 1 > total:
        r.err(m["min_per_province"][1], "counties.min_per_province", _("每省最少区县数不能大于区县总数。"))
        return None
    return CountyDesign(total=total, min_per_province=minimum, sort=sort, serpentine=serp, agreement=tuple(agree),
                        application=tuple(appl))


def _schools(r: _DesignReader, node: yaml.Node) -> SchoolDesign | None:
    m = r.mapping(node, "schools", required=("per_county",),
                  optional=("sort", "serpentine", "min_cluster_size", "exclude_below", "reallocate",
                            "replacements"))
    if m is None:
        return None
    d = SchoolDesign()
    per: tuple[tuple[int, int], ...] | None = None
    pm = r.complete_mapping(m["per_county"][1], "schools.per_county", required=("grade4", "grade8")) \
        if "per_county" in m else None
    if pm is not None:
        g4 = r.field(pm, "schools.per_county", "grade4", r.integer_in(0, 200))
        g8 = r.field(pm, "schools.per_county", "grade8", r.integer_in(0, 200))
        if g4 is not None and g8 is not None:
            if g4 + g8 == 0:
                r.err(m["per_county"][1], "schools.per_county", _("两个年级的学校数不能都为 0。"))
            else:
                per = ((4, g4), (8, g8))
    sort = _get(r, m, "schools", "sort", lambda n, p: r.keys(n, p, SCHOOL_SORT_KEYS), d.sort)
    serp = _get(r, m, "schools", "serpentine", r.boolean, d.serpentine)
    mcs = _get(r, m, "schools", "min_cluster_size", r.integer_in(0, 1000), d.min_cluster_size)
    excl = _get(r, m, "schools", "exclude_below", r.integer_in(1, 1000), d.exclude_below)
    real = _get(r, m, "schools", "reallocate", r.boolean, d.reallocate)
    repl = _get(r, m, "schools", "replacements", r.integer_in(0, 2), d.replacements)
    if per is None or None in (sort, serp, mcs, excl, real, repl):
        return None
    return SchoolDesign(per_county=per, sort=sort, serpentine=serp, min_cluster_size=mcs, exclude_below=excl,
                        reallocate=real, replacements=repl)


def _students(r: _DesignReader, node: yaml.Node) -> StudentDesign | None:
    m = r.complete_mapping(node, "students", required=("per_school",))
    n = r.field(m, "students", "per_school", r.integer_in(1, 1000)) if m is not None else None
    return StudentDesign(per_school=n) if n is not None else None


def _nonresponse(r: _DesignReader, node: yaml.Node | None) -> NonresponseDesign | None:
    d = NonresponseDesign()
    if node is None:
        return d
    m = r.mapping(node, "nonresponse", required=(), optional=("school_cells", "student_cells"))
    sc = _get(r, m, "nonresponse", "school_cells", lambda n, p: r.keys(n, p, SCHOOL_CELL_KEYS), d.school_cells)
    st = _get(r, m, "nonresponse", "student_cells", lambda n, p: r.keys(n, p, STUDENT_CELL_KEYS), d.student_cells)
    if m is None or sc is None or st is None:
        return None
    return NonresponseDesign(school_cells=sc, student_cells=st)


def _replicates(r: _DesignReader, node: yaml.Node | None) -> ReplicateDesign | None:
    d = ReplicateDesign()
    if node is None:
        return d
    m = r.mapping(node, "replicates", required=("scheme",), optional=("fay_rho", "max_zones"))
    scheme = _get(r, m, "replicates", "scheme", r.one_of(REPLICATE_SCHEMES), None)
    rho = _get(r, m, "replicates", "fay_rho", r.rho, d.fay_rho)
    mz = _get(r, m, "replicates", "max_zones", lambda n, p: r.optional_int(n, p, 1, 10_000), True)
    if m is None or scheme is None or rho is None or mz is None:
        return None
    max_zones = None if mz is True else int(mz)
    if max_zones is not None and scheme == "fay":
        r.err(m["max_zones"][1], "replicates.max_zones", _("Fay-BRR 不支持折叠（max_zones），请删去此项。"))
        return None
    return ReplicateDesign(scheme=scheme, fay_rho=rho, max_zones=max_zones)


def parse_design(text: str, *, file: str = "<text>") -> SampleDesign:
    """Parse and validate a design file's text; raise :class:`InvalidInput` listing every problem."""
    c = ProblemCollector(file=file)
    root = compose(text, c)
    design: SampleDesign | None = None
    if root is not None:
        r = _DesignReader(c)
        m = r.mapping(root, "", required=("name", "counties", "schools", "students"),
                      optional=("nonresponse", "replicates"))
        if m is not None:
            name = r.field(m, "", "name", r.text)
            parts = (
                _counties(r, m["counties"][1]) if "counties" in m else None,
                _schools(r, m["schools"][1]) if "schools" in m else None,
                _students(r, m["students"][1]) if "students" in m else None,
                _nonresponse(r, m["nonresponse"][1] if "nonresponse" in m else None),
                _replicates(r, m["replicates"][1] if "replicates" in m else None),
            )
            if name is not None and None not in parts:
                design = SampleDesign(name, *parts)  # type: ignore[arg-type]
    c.raise_if_any(_("抽样设计文件有误。"))
    if design is None:  # every path that returns None reports a problem first
        raise RuntimeError("sample design rejected without a reported problem")
    return design


def parse_design_file(path: str | Path) -> SampleDesign:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        c = ProblemCollector(file=str(path))
        c.add(_("无法读取文件：%(error)s") % {"error": exc})
        c.raise_if_any(_("抽样设计文件无法读取。"))
        raise  # pragma: no cover
    return parse_design(text, file=str(path))


def default_design() -> SampleDesign:
    """The design of ``naeq/sampling/designs/default.yaml``."""
    return parse_design(DEFAULT_DESIGN_PATH.read_text(encoding="utf-8"), file=str(DEFAULT_DESIGN_PATH))


__all__ = ["DEFAULT_DESIGN_PATH", "default_design", "parse_design", "parse_design_file"]

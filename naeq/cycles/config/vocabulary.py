"""The closed sets of values a cycle configuration may use (see ``docs/cycles.md``)."""

from __future__ import annotations

KINDS = ("test", "questionnaire")
RESPONDENTS = ("student", "teacher", "principal", "county_manager")
TEACHER_ROLES = ("head_teacher", "subject_teacher")
DELIVERY_MODES = (
    "paper",  # paper booklet; see answer_card
    "online",  # network testing system
    "online_objective_paper_constructed",  # objective items online; constructed items on screen, answered on paper
    "county_choice",  # paper or online, as each county decides
    "field_test",  # PE field test, results written on a paper record card and entered afterwards
)
ANSWER_CARDS = ("separate", "combined")  # 题卡分离 / 题卡合一
PARTICIPATIONS = ("sample", "agreement", "application")
LEVELS = ("primary", "middle", "county")
CONTENT_GRADES = (4, 8)
GRADE_LEVEL = {4: "primary", 8: "middle"}

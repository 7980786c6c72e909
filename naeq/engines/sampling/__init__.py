"""The sampling engine (pure numpy): three-stage stratified PPS samples of counties, schools and students, their
inclusion probabilities, base, non-response-adjusted and calibrated weights, and replicate weights.

Documented in ``docs/sampling.md``. The stages:

* :func:`draw_counties` — counties within provinces by systematic PPS on grade-4 + grade-8 enrollment, with
  certainty selections; agreement and application counties added as designated;
* :func:`draw_schools` — schools per county and grade (12 / 8) by systematic PPS on MOS = max(enrollment, 30)
  after sorting by urban/rural class and size (serpentine), with reallocation, exclusions, and two replacements;
* :func:`draw_students` — 30 students per school and grade by SRS from the whole grade (all when 30 or fewer);
* :func:`base_weights`, :func:`adjust_nonresponse`, :func:`calibrate_to_totals`, :func:`final_weights`;
* :func:`jk2_replicates`, :func:`fay_brr_replicates`, :func:`replicate_weights`, :func:`replicate_se`;
* :func:`draw_sample` — all of it from one seed, carrying the design, seed, code version and :func:`frame_hash`.

Example
-------
>>> import numpy as np
>>> from naeq.engines.sampling import SampleDesign, SchoolFrame, draw_sample
>>> frame = SchoolFrame.from_columns(
...     code=[f"1{c}{i:03d}" for c in ("110101", "110102") for i in range(40)],
...     county=["110101"] * 40 + ["110102"] * 40, level=["nine_year"] * 80, urban_rural=["111"] * 80,
...     g4=np.arange(80) + 5, g8=np.arange(80) + 10)
>>> s = draw_sample(frame, SampleDesign(), seed=7)
>>> s.counts()["school_grades"], bool(np.isclose(s.students["weight_county"].sum(), frame.g4.sum() + frame.g8.sum()))
(40, True)
"""

from naeq.engines.sampling.counties import CountySample, allocate_counties, draw_counties
from naeq.engines.sampling.draw import ReplicateSet, Sample, code_version, draw_sample, final_weights, frame_totals
from naeq.engines.sampling.frames import CountyFrame, SchoolFrame, county_frame, frame_hash
from naeq.engines.sampling.pps import grouped_inclusion_probabilities, pps_inclusion_probabilities, systematic_pps
from naeq.engines.sampling.replicates import (
    ReplicateScheme,
    fay_brr_replicates,
    jk2_replicates,
    jk2_zones,
    replicate_factors,
    replicate_se,
    replicate_weights,
    scheme_for,
    sylvester_hadamard,
)
from naeq.engines.sampling.schools import ROLES, SchoolSample, allocate_schools, draw_schools
from naeq.engines.sampling.spec import (
    CountyDesign,
    NonresponseDesign,
    ReplicateDesign,
    SampleDesign,
    SchoolDesign,
    StudentDesign,
)
from naeq.engines.sampling.students import StudentSample, draw_students
from naeq.engines.sampling.weights import adjust_nonresponse, base_weights, calibrate_to_totals, collapse_cells

__all__ = [
    "ROLES", "CountyDesign", "CountyFrame", "CountySample", "NonresponseDesign", "ReplicateDesign", "ReplicateScheme",
    "ReplicateSet", "Sample", "SampleDesign", "SchoolDesign", "SchoolFrame", "SchoolSample", "StudentDesign",
    "StudentSample", "adjust_nonresponse", "allocate_counties", "allocate_schools", "base_weights",
    "calibrate_to_totals", "code_version", "collapse_cells", "county_frame", "draw_counties", "draw_sample",
    "draw_schools", "draw_students", "fay_brr_replicates", "final_weights", "frame_hash", "frame_totals",
    "grouped_inclusion_probabilities", "jk2_replicates", "jk2_zones", "pps_inclusion_probabilities",
    "replicate_factors", "replicate_se", "replicate_weights", "scheme_for", "sylvester_hadamard", "systematic_pps",
]

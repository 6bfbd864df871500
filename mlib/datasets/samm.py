"""SAMM: ``SAMM/006/006_1_2/006_05562.jpg`` + ``SAMM_Micro_FACS_Codes_v2.xlsx``.

The workbook has preamble rows above the header (Excel row 14 in v2: a public
MEGC-2019 loader reads it with ``header=13``, tvaranka/meb takes the column
names from its dataframe row 12); ``base.read_annotation`` finds the header by
its content. Columns: Subject ("006"), Filename, Inducement Code, Onset Frame,
Apex Frame, Offset Frame, Duration, Type, Action Units, Notes, Estimated
Emotion, Objective Classes. Frame file names pad the number to varying widths;
the number is parsed, never the width.

Errata: the apex of 028_4_1 and 032_3_1 lies outside onset..offset (the public
MEGC-2019 loader's process_SAMM takes the midpoint; ``base`` applies that rule
to any such row); meb also lists three rows without an apex (-> midpoint) and
one wrong offset (-> reported by the onset/offset and frame checks).
"""

from .base import Adapter

ADAPTER = Adapter(
    name="samm",
    fps=200,
    annotation="SAMM_Micro_FACS_Codes_v2.xlsx",
    frames_dir="SAMM",
    cropped_frames_dir="SAMM",
    subject_width=3,
    subject_folder=lambda subject: subject,
    frame_pattern=r"\d+_(?P<number>\d+)",
    frame_example="<subject>_<N>.jpg",
    columns={
        "subject": "Subject",
        "clip": "Filename",
        "onset": "Onset Frame",
        "apex": "Apex Frame",
        "offset": "Offset Frame",
        "action_units": "Action Units",
        "emotion": "Estimated Emotion",
    },
)

"""What the hospital orders and prescribes: lab panels and their tests, imaging studies,
and drugs with their DEA schedule, grouped by where they are prescribed.
"""

from __future__ import annotations

import numpy as np

#: (code, description, weight, tests); a test is (name, mean, sd, unit, decimals).
LAB_PANELS: tuple[tuple[str, str, float, tuple[tuple[str, float, float, str, int], ...]], ...] = (
    (
        "CBC",
        "Complete blood count",
        0.30,
        (
            ("WBC", 7.5, 2.0, "10*3/uL", 1),
            ("Hemoglobin", 13.8, 1.5, "g/dL", 1),
            ("Platelets", 250, 60, "10*3/uL", 0),
        ),
    ),
    (
        "BMP",
        "Basic metabolic panel",
        0.25,
        (
            ("Sodium", 139, 3, "mmol/L", 0),
            ("Potassium", 4.2, 0.4, "mmol/L", 1),
            ("Creatinine", 0.95, 0.25, "mg/dL", 2),
            ("Glucose", 102, 25, "mg/dL", 0),
        ),
    ),
    (
        "LIPID",
        "Lipid panel",
        0.10,
        (
            ("Total cholesterol", 190, 35, "mg/dL", 0),
            ("LDL cholesterol", 110, 30, "mg/dL", 0),
            ("HDL cholesterol", 52, 12, "mg/dL", 0),
        ),
    ),
    ("A1C", "Hemoglobin A1c", 0.08, (("Hemoglobin A1c", 5.9, 0.9, "%", 1),)),
    ("TSH", "Thyroid stimulating hormone", 0.07, (("TSH", 2.1, 0.9, "mIU/L", 2),)),
    ("UA", "Urinalysis", 0.10, (("Urine specific gravity", 1.015, 0.005, "", 3),)),
    ("PTINR", "Prothrombin time and INR", 0.05, (("INR", 1.1, 0.15, "", 1),)),
    ("TS", "Type and screen", 0.05, (("ABO/Rh", 0, 0, "", 0), ("Antibody screen", 0, 0, "", 0))),
)
TYPE_AND_SCREEN = 7
TESTS = tuple(t for p in LAB_PANELS for t in p[3])
FIRST_TEST = np.cumsum([0] + [len(p[3]) for p in LAB_PANELS])[:-1]
ABO_TEST = [t[0] for t in TESTS].index("ABO/Rh")
SCREEN_TEST = [t[0] for t in TESTS].index("Antibody screen")
IMAGING: tuple[tuple[str, str], ...] = (
    ("XR CHEST", "Chest X-ray, 2 views"),
    ("CT HEAD", "CT head without contrast"),
    ("US ABD", "Ultrasound abdomen complete"),
    ("CT ABDPEL", "CT abdomen and pelvis with contrast"),
    ("MRI LSPINE", "MRI lumbar spine without contrast"),
    ("XR KNEE", "X-ray knee, 3 views"),
)
ORDER_KINDS = ("lab", "radiology")
#: (drug, DEA schedule or ''); groups below index into it.
DRUGS: tuple[tuple[str, str], ...] = (
    ("lisinopril 10 mg tablet", ""),
    ("metformin 500 mg tablet", ""),
    ("atorvastatin 20 mg tablet", ""),
    ("amlodipine 5 mg tablet", ""),
    ("levothyroxine 50 mcg tablet", ""),
    ("omeprazole 20 mg capsule", ""),
    ("amoxicillin 500 mg capsule", ""),
    ("azithromycin 250 mg tablet", ""),
    ("sertraline 50 mg tablet", ""),
    ("albuterol 90 mcg inhaler", ""),
    ("ibuprofen 600 mg tablet", ""),
    ("prednisone 20 mg tablet", ""),
    ("ondansetron 4 mg tablet", ""),
    ("ceftriaxone 1 g IV", ""),
    ("heparin 5000 units SC", ""),
    ("pantoprazole 40 mg IV", ""),
    ("acetaminophen 650 mg tablet", ""),
    ("oxycodone 5 mg tablet", "II"),
    ("hydrocodone/acetaminophen 5/325 mg tablet", "II"),
    ("morphine 2 mg IV", "II"),
    ("methylphenidate 10 mg tablet", "II"),
    ("alprazolam 0.5 mg tablet", "IV"),
    ("lorazepam 1 mg tablet", "IV"),
    ("clonazepam 0.5 mg tablet", "IV"),
    ("zolpidem 10 mg tablet", "IV"),
    ("tramadol 50 mg tablet", "IV"),
    ("buprenorphine/naloxone 8/2 mg film", "III"),
    ("pregabalin 75 mg capsule", "V"),
)
_D = {name.split()[0]: i for i, (name, _) in enumerate(DRUGS)}
OFFICE_DRUGS = np.array(
    [
        _D[d]
        for d in (
            "lisinopril",
            "metformin",
            "atorvastatin",
            "amlodipine",
            "levothyroxine",
            "omeprazole",
            "amoxicillin",
            "azithromycin",
            "sertraline",
            "albuterol",
            "prednisone",
        )
    ]
)
ED_DRUGS = np.array(
    [
        _D[d]
        for d in (
            "ibuprofen",
            "amoxicillin",
            "azithromycin",
            "prednisone",
            "ondansetron",
            "hydrocodone/acetaminophen",
            "acetaminophen",
        )
    ]
)
IP_DRUGS = np.array(
    [
        _D[d]
        for d in (
            "ceftriaxone",
            "heparin",
            "pantoprazole",
            "ondansetron",
            "morphine",
            "acetaminophen",
        )
    ]
)
PANEL_DRUGS = np.array(
    [
        _D[d]
        for d in (
            "oxycodone",
            "hydrocodone/acetaminophen",
            "alprazolam",
            "lorazepam",
            "clonazepam",
            "zolpidem",
            "tramadol",
            "methylphenidate",
            "buprenorphine/naloxone",
            "pregabalin",
        )
    ]
)
SCHEDULES = ("II", "III", "IV", "V")
SCHEDULE_OF = np.array([SCHEDULES.index(s) if s else -1 for _, s in DRUGS])

"""Registration-area codes: the two digits that open every Vietnamese plate.

Source: Circular 58/2020/TT-BCA of the Ministry of Public Security (Thông tư
58/2020/TT-BCA, in force from 1 August 2020), appendix 02 "Ký hiệu biển số xe
ô tô - mô tô trong nước" (domestic car and motorbike plate codes). The same
table was carried over by Circular 24/2023/TT-BCA.

The names are the 63 provinces and centrally-governed cities as they stood in
2021, i.e. **before** the 2025 provincial mergers (Resolution 202/2025/QH15
reduced them to 34; vehicles keep their old plates, so a plate still tells the
province that registered it, not today's province). Names are written with
their Vietnamese diacritics.

Code 80 is not a province: it is used by the Traffic Police Department (Cục
Cảnh sát giao thông) for vehicles of central agencies, and for the foreign
(NG, QT, CV, NN) series it registers.

Codes that are not assigned to anyone: 10 (and 00-09), 13 (the former Hà Bắc,
split in 1997 into Bắc Ninh 99 and Bắc Giang 98), 42, 44, 45, 46, 87, 91 and 96.
A plate starting with one of these is not a valid civilian plate.
"""

from __future__ import annotations

# Code -> registering province or city (2021 names, see the module docstring).
PROVINCES: dict[str, str] = {
    "11": "Cao Bằng",
    "12": "Lạng Sơn",
    "14": "Quảng Ninh",
    "15": "Hải Phòng",
    "16": "Hải Phòng",
    "17": "Thái Bình",
    "18": "Nam Định",
    "19": "Phú Thọ",
    "20": "Thái Nguyên",
    "21": "Yên Bái",
    "22": "Tuyên Quang",
    "23": "Hà Giang",
    "24": "Lào Cai",
    "25": "Lai Châu",
    "26": "Sơn La",
    "27": "Điện Biên",
    "28": "Hòa Bình",
    "29": "Hà Nội",
    "30": "Hà Nội",
    "31": "Hà Nội",
    "32": "Hà Nội",
    "33": "Hà Nội",
    "34": "Hải Dương",
    "35": "Ninh Bình",
    "36": "Thanh Hóa",
    "37": "Nghệ An",
    "38": "Hà Tĩnh",
    "39": "Đồng Nai",
    "40": "Hà Nội",
    "41": "TP Hồ Chí Minh",
    "43": "Đà Nẵng",
    "47": "Đắk Lắk",
    "48": "Đắk Nông",
    "49": "Lâm Đồng",
    "50": "TP Hồ Chí Minh",
    "51": "TP Hồ Chí Minh",
    "52": "TP Hồ Chí Minh",
    "53": "TP Hồ Chí Minh",
    "54": "TP Hồ Chí Minh",
    "55": "TP Hồ Chí Minh",
    "56": "TP Hồ Chí Minh",
    "57": "TP Hồ Chí Minh",
    "58": "TP Hồ Chí Minh",
    "59": "TP Hồ Chí Minh",
    "60": "Đồng Nai",
    "61": "Bình Dương",
    "62": "Long An",
    "63": "Tiền Giang",
    "64": "Vĩnh Long",
    "65": "Cần Thơ",
    "66": "Đồng Tháp",
    "67": "An Giang",
    "68": "Kiên Giang",
    "69": "Cà Mau",
    "70": "Tây Ninh",
    "71": "Bến Tre",
    "72": "Bà Rịa - Vũng Tàu",
    "73": "Quảng Bình",
    "74": "Quảng Trị",
    "75": "Thừa Thiên Huế",
    "76": "Quảng Ngãi",
    "77": "Bình Định",
    "78": "Phú Yên",
    "79": "Khánh Hòa",
    "80": "Cục Cảnh sát giao thông (trung ương)",
    "81": "Gia Lai",
    "82": "Kon Tum",
    "83": "Sóc Trăng",
    "84": "Trà Vinh",
    "85": "Ninh Thuận",
    "86": "Bình Thuận",
    "88": "Vĩnh Phúc",
    "89": "Hưng Yên",
    "90": "Hà Nam",
    "92": "Quảng Nam",
    "93": "Bình Phước",
    "94": "Bạc Liêu",
    "95": "Hậu Giang",
    "97": "Bắc Kạn",
    "98": "Bắc Giang",
    "99": "Bắc Ninh",
}

# Two-digit codes in the 10-99 range that no province holds (see the docstring).
UNASSIGNED_CODES: frozenset[str] = frozenset(
    f"{n:02d}" for n in range(10, 100) if f"{n:02d}" not in PROVINCES
)

# Every (code, province) pair, in code order.
ALL_PROVINCES: list[tuple[str, str]] = sorted(PROVINCES.items())


def province_name(code: str) -> str | None:
    """The province (or, for 80, the central registry) holding ``code``; None if unassigned."""
    return PROVINCES.get(code.strip())


def all_provinces() -> list[tuple[str, str]]:
    """Every (code, province) pair of the table, in code order (a fresh list)."""
    return list(ALL_PROVINCES)


def fold_name(text: str) -> str:
    """A name as it is compared: lower case ASCII without diacritics, single spaces: "Thái Nguyên" -> "thai nguyen"."""
    import unicodedata

    stripped = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    ascii_text = "".join(ch for ch in stripped if not unicodedata.combining(ch))
    return " ".join(ascii_text.lower().replace("-", " ").replace(".", " ").split())


# Words a province is written with that are not its name ("Tỉnh Thái Nguyên", "TP. Hà Nội").
_PREFIXES = ("tinh ", "thanh pho ", "tp ")

# Folded province name -> its first (lowest) plate code; Hà Nội has several codes, one name.
_BY_NAME: dict[str, str] = {}
for _code, _name in ALL_PROVINCES:
    if _code != "80":  # the central registry is no place a vehicle comes from
        _folded_name = fold_name(_name)
        for _prefix in _PREFIXES:
            _folded_name = _folded_name.removeprefix(_prefix)
        _BY_NAME.setdefault(_folded_name, _code)
_BY_NAME.setdefault("hcm", _BY_NAME["ho chi minh"])
_BY_NAME.setdefault("hue", _BY_NAME["thua thien hue"])


def province_code_of(text: str) -> str | None:
    """The plate code a province is written as: its code ("29"), or its name with or
    without diacritics ("Hà Nội", "ha noi", "Tỉnh Thái Nguyên", "TP HCM"); None if unknown.

    A province with several codes gives its first, however it is written
    (Hà Nội, 30 and 29 all give 29).
    """
    given = text.strip()
    if given.isdigit() and len(given) == 2:
        if given not in PROVINCES or given == "80":
            return None
        given = PROVINCES[given]  # 30 is Hà Nội's too: its first code, 29
    folded = fold_name(given)
    for prefix in _PREFIXES:
        folded = folded.removeprefix(prefix)
    return _BY_NAME.get(folded)


def same_province(code: str, other: str) -> bool:
    """Whether two plate codes are one province's (29 and 30 are both Hà Nội)."""
    name = PROVINCES.get(code)
    return name is not None and name == PROVINCES.get(other)

"""Indonesia's provinces by ISO 3166-2:ID code, for messages and the seller page."""

from __future__ import annotations

PROVINCES: dict[str, str] = {
    "ID-AC": "Aceh",
    "ID-SU": "Sumatera Utara",
    "ID-SB": "Sumatera Barat",
    "ID-RI": "Riau",
    "ID-KR": "Kepulauan Riau",
    "ID-JA": "Jambi",
    "ID-SS": "Sumatera Selatan",
    "ID-BB": "Kepulauan Bangka Belitung",
    "ID-BE": "Bengkulu",
    "ID-LA": "Lampung",
    "ID-JK": "DKI Jakarta",
    "ID-JB": "Jawa Barat",
    "ID-BT": "Banten",
    "ID-JT": "Jawa Tengah",
    "ID-YO": "DI Yogyakarta",
    "ID-JI": "Jawa Timur",
    "ID-BA": "Bali",
    "ID-NB": "Nusa Tenggara Barat",
    "ID-NT": "Nusa Tenggara Timur",
    "ID-KB": "Kalimantan Barat",
    "ID-KT": "Kalimantan Tengah",
    "ID-KS": "Kalimantan Selatan",
    "ID-KI": "Kalimantan Timur",
    "ID-KU": "Kalimantan Utara",
    "ID-SA": "Sulawesi Utara",
    "ID-GO": "Gorontalo",
    "ID-ST": "Sulawesi Tengah",
    "ID-SR": "Sulawesi Barat",
    "ID-SN": "Sulawesi Selatan",
    "ID-SG": "Sulawesi Tenggara",
    "ID-MA": "Maluku",
    "ID-MU": "Maluku Utara",
    "ID-PA": "Papua",
    "ID-PB": "Papua Barat",
    "ID-PS": "Papua Selatan",
    "ID-PT": "Papua Tengah",
    "ID-PE": "Papua Pegunungan",
    "ID-PD": "Papua Barat Daya",
}


def province_name(code: str) -> str:
    return PROVINCES.get(code, code)

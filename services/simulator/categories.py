"""Product categories typical of Indonesian UMKM, with the knobs the calendar needs.

Each category carries name parts (products get Indonesian names such as "Keripik Pisang
Pedas"), a price range in rupiah, its share of the catalogue, and how strongly it reacts
to marketplace sales days and to Ramadan. Food dominates, as it does among UMKM sellers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    key: str
    nouns: tuple[str, ...]
    variants: tuple[str, ...]
    price_idr: tuple[int, int]
    weight: float  # share of catalogue (normalised across categories)
    sales_sensitivity: float  # lift on double-date sales days, 0..1.5
    ramadan_lift: float  # lift during Ramadan, 0..1


CATEGORIES: tuple[Category, ...] = (
    Category(
        "makanan_ringan",
        (
            "Keripik Pisang",
            "Keripik Singkong",
            "Basreng",
            "Makaroni",
            "Seblak Kering",
            "Kerupuk Kulit",
            "Rempeyek Kacang",
            "Keripik Tempe",
            "Kacang Bawang",
            "Emping Melinjo",
            "Sale Pisang",
            "Kue Kering Nastar",
            "Kastengel",
        ),
        (
            "Pedas",
            "Pedas Daun Jeruk",
            "Balado",
            "Original",
            "Level 5",
            "Manis",
            "Keju",
            "Jagung Bakar",
            "Rumput Laut",
            "Khas Malang",
            "Khas Bandung",
            "Khas Lampung",
        ),
        (8_000, 65_000),
        0.2,
        0.4,
        0.7,
    ),
    Category(
        "minuman",
        (
            "Kopi Susu Gula Aren",
            "Jamu Kunyit Asam",
            "Teh Tarik",
            "Sirup Markisa",
            "Wedang Uwuh",
            "Bajigur Instan",
            "Kopi Bubuk Gayo",
            "Kopi Toraja",
            "Es Kopi Literan",
            "Cokelat Bubuk",
            "Sirup Kurma",
        ),
        ("Literan", "Sachet", "Botol 1L", "Original", "Less Sugar", "Kemasan 250ml", "Premium"),
        (10_000, 120_000),
        0.1,
        0.4,
        0.6,
    ),
    Category(
        "fashion_muslim",
        (
            "Hijab Voal",
            "Hijab Pashmina",
            "Gamis",
            "Mukena",
            "Baju Koko",
            "Sarung Tenun",
            "Bergo Instan",
            "Peci Rajut",
            "Khimar",
            "Tunik",
        ),
        ("Motif", "Polos", "Ceruti", "Jersey", "Premium", "Syari", "Anak", "Bordir", "Lasercut"),
        (25_000, 350_000),
        0.1,
        0.8,
        1.0,
    ),
    Category(
        "fashion",
        (
            "Kaos Oversize",
            "Kemeja Batik",
            "Celana Kulot",
            "Sandal Jepit",
            "Tas Selempang",
            "Jaket Hoodie",
            "Rok Plisket",
            "Sepatu Kanvas",
            "Dompet Kulit",
        ),
        ("Motif Parang", "Unisex", "Wanita", "Pria", "Distro", "Lokal", "Rajut", "Premium"),
        (30_000, 300_000),
        0.12,
        1.0,
        0.3,
    ),
    Category(
        "kecantikan",
        (
            "Serum Wajah",
            "Lip Cream",
            "Masker Wajah",
            "Sabun Sereh",
            "Lulur Bali",
            "Minyak Kemiri",
            "Body Lotion",
            "Bedak Dingin",
            "Toner",
        ),
        ("Niacinamide", "Matte", "Beras", "Kunyit", "Lidah Buaya", "Kopi", "Herbal", "Mini"),
        (15_000, 180_000),
        0.1,
        1.0,
        0.2,
    ),
    Category(
        "rumah_tangga",
        (
            "Rak Piring",
            "Sapu Ijuk",
            "Tempat Bumbu",
            "Keset Kaki",
            "Taplak Meja",
            "Lap Dapur",
            "Toples Kaca",
            "Gantungan Baju",
        ),
        ("Lipat", "Stainless", "Rotan", "Serbaguna", "Minimalis", "Set 3", "Motif Bunga"),
        (10_000, 250_000),
        0.07,
        0.8,
        0.25,
    ),
    Category(
        "kerajinan",
        (
            "Tas Anyaman Rotan",
            "Gerabah Hias",
            "Kain Tenun",
            "Tas Pandan",
            "Ukiran Kayu",
            "Gelang Manik",
            "Batik Tulis",
            "Vas Bambu",
        ),
        ("Lombok", "Jepara", "Sumba", "Tasikmalaya", "Handmade", "Motif Dayak", "Toraja"),
        (20_000, 600_000),
        0.07,
        0.5,
        0.1,
    ),
    Category(
        "gawai_aksesoris",
        (
            "Casing HP",
            "Kabel Data",
            "Kipas Portable",
            "Tripod HP",
            "Ring Light",
            "Earphone",
            "Powerbank",
            "Holder Motor",
        ),
        ("Type-C", "Mini", "Magnetik", "Lipat", "Bening", "LED", "Fast Charging"),
        (15_000, 250_000),
        0.06,
        1.0,
        0.05,
    ),
    Category(
        "kesehatan",
        (
            "Minyak Kayu Putih",
            "Madu Hutan",
            "Jahe Merah Instan",
            "Minyak Urut",
            "Temulawak",
            "Habbatussauda",
            "Minyak Telon",
        ),
        ("Asli", "Sumbawa", "Kalimantan", "Kapsul", "Botol 60ml", "Sachet", "Herbal"),
        (15_000, 200_000),
        0.06,
        0.5,
        0.3,
    ),
    Category(
        "bumbu_dapur",
        (
            "Sambal Bawang",
            "Sambal Cumi",
            "Rendang Kemasan",
            "Bumbu Pecel",
            "Frozen Dimsum",
            "Abon Sapi",
            "Sambal Roa",
            "Bakso Aci",
            "Cireng Isi",
        ),
        ("Pedas", "Extra Pedas", "Homemade", "Frozen", "Kemasan Jar", "Pack 10", "Khas Manado"),
        (12_000, 120_000),
        0.08,
        0.4,
        0.5,
    ),
    Category(
        "mainan_hobi",
        (
            "Lato-Lato",
            "Layangan",
            "Gasing Kayu",
            "Boneka Rajut",
            "Puzzle Kayu",
            "Diecast Bus",
            "Kelereng",
        ),
        ("Anak", "Edukasi", "Mini", "Jumbo", "Set", "Warna-Warni"),
        (10_000, 200_000),
        0.04,
        0.7,
        0.1,
    ),
)

CATEGORY_KEYS: tuple[str, ...] = tuple(c.key for c in CATEGORIES)
N_CATEGORIES = len(CATEGORIES)

"""Words, numbers and times for the seller page and the seller channels' messages, in Bahasa
Indonesia (default) and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

from shared.scores import growth_phrase

Lang = Literal["id", "en"]
LANGS: tuple[Lang, ...] = ("id", "en")
WIB = timezone(timedelta(hours=7), "WIB")

TEXT: dict[str, dict[Lang, str]] = {
    "title": {"id": "Produk yang sedang naik", "en": "Rising products"},
    "tagline": {
        "id": "Produk yang mulai ramai dibicarakan, sebelum puncaknya.",
        "en": "Products people are starting to talk about, before the peak.",
    },
    "skip": {"id": "Langsung ke daftar", "en": "Skip to the list"},
    "category": {"id": "Kategori", "en": "Category"},
    "province": {"id": "Provinsi", "en": "Province"},
    "all_categories": {"id": "Semua kategori", "en": "All categories"},
    "all_provinces": {"id": "Semua provinsi", "en": "All provinces"},
    "apply": {"id": "Terapkan", "en": "Apply"},
    "reset": {"id": "Hapus filter", "en": "Clear filters"},
    "filters": {"id": "Saring daftar", "en": "Filter the list"},
    "why": {"id": "Kenapa naik?", "en": "Why is it rising?"},
    "started": {"id": "Mulai naik", "en": "Rising since"},
    "rises_in": {"id": "Naik di", "en": "Rising in"},
    "busiest_in": {"id": "Paling ramai di", "en": "Busiest in"},
    "everywhere": {
        "id": "Belum menonjol di provinsi tertentu.",
        "en": "No province stands out yet.",
    },
    "data_as_of": {"id": "Data per", "en": "Data as of"},
    "refresh_note": {
        "id": "Daftar diperbarui otomatis setiap menit.",
        "en": "The list refreshes itself every minute.",
    },
    "empty": {
        "id": "Belum ada produk yang cocok dengan filter ini.",
        "en": "No product matches these filters yet.",
    },
    "more": {"id": "Tampilkan lebih banyak", "en": "Show more"},
    "details": {"id": "Lihat grafik", "en": "See the chart"},
    "spark_label": {
        "id": "Interaksi per jam selama 7 hari: dari {first} menjadi {last}",
        "en": "Interactions per hour over 7 days: from {first} to {last}",
    },
    "chance": {"id": "Peluang viral dalam 24 jam", "en": "Chance of going viral within 24 h"},
    "back": {"id": "← Kembali ke daftar", "en": "← Back to the list"},
    "engagement_title": {"id": "Interaksi per jam", "en": "Interactions per hour"},
    "engagement_desc": {
        "id": "Rata-rata interaksi per jam (lihat, suka, bagikan, beli …), 7 hari terakhir.",
        "en": "Average interactions per hour (views, likes, shares, purchases …), last 7 days.",
    },
    "score_title": {"id": "Riwayat peluang viral", "en": "Chance of going viral over time"},
    "alerts_title": {"id": "Peringatan yang dikirim", "en": "Alerts sent"},
    "no_alerts": {"id": "Belum ada peringatan.", "en": "No alert yet."},
    "not_found": {"id": "Produk tidak ditemukan", "en": "Product not found"},
    "not_found_body": {
        "id": "Produk ini belum punya skor. Mungkin datanya belum masuk.",
        "en": "This product has no score yet. Its data may not have arrived.",
    },
    "switch": {"id": "English", "en": "Bahasa Indonesia"},
    "switch_label": {"id": "Switch to English", "en": "Ganti ke Bahasa Indonesia"},
    "no_data": {"id": "Belum ada data.", "en": "No data yet."},
    "growth": {"id": "{growth}: laju naik, bukan peluang", "en": "{growth}: growth, not a chance"},
    "uncalibrated_list": {
        "id": "Belum ada model: daftar ini urutan menurut laju naik dibanding hari biasanya, "
        "bukan peluang viral.",
        "en": "No model yet: this list is ranked by growth over a usual day, "
        "not by a chance of going viral.",
    },
    "uncalibrated_new": {
        "id": "Belum ada model, dan riwayat produk ini belum cukup untuk dinilai",
        "en": "No model yet, and too little history to judge this product",
    },
    # The alert tiers (shared/alerts.py), as the page and the messages name them.
    "tier_heads_up": {
        "id": "Bersiap: kemungkinan viral dalam beberapa hari",
        "en": "Get ready: may go viral within days",
    },
    "tier_confident": {
        "id": "Sangat mungkin viral dalam 24 jam",
        "en": "Very likely to go viral within 24 hours",
    },
    "chance_24h": {"id": "peluang viral dalam 24 jam", "en": "chance of going viral in 24 h"},
    "evidence_events": {"id": "Interaksi 24 jam", "en": "Interactions in 24 h"},
    "evidence_creators": {"id": "Kreator 24 jam", "en": "Creators in 24 h"},
    "evidence_regions": {"id": "Provinsi 24 jam", "en": "Provinces in 24 h"},
    "evidence_growth": {
        "id": "6 jam terakhir, dibanding rata-rata sehari",
        "en": "Last 6 h, against the day's average",
    },
    "rising_h": {"id": "Sedang naik ({n})", "en": "Rising now ({n})"},
    "none_rising": {
        "id": "Saat ini belum ada produk yang naik. Yang di bawah ini tetap kami pantau.",
        "en": "No product is rising right now. We keep watching the ones below.",
    },
    "quiet_h": {"id": "Dipantau, belum terlihat naik ({n})", "en": "Watched, no rise yet ({n})"},
    "todo_h": {"id": "Yang bisa Anda lakukan", "en": "What you could do"},
    "examples_h": {"id": "Lihat postingan dan harganya", "en": "See the posts and prices"},
    "examples_note": {
        "id": "Membuka pencarian nama produk ini di platform tersebut.",
        "en": "Opens a search for this product's name on that platform.",
    },
    "search_on": {"id": "Cari di {platform}", "en": "Search {platform}"},
    "price": {"id": "harga umum {price}", "en": "typical price {price}"},
    "posts_h": {"id": "Contoh postingan", "en": "Example posts"},
    "posts_note": {
        "id": "Postingan terbaru yang menyebut produk ini.",
        "en": "Recent posts that name this product.",
    },
    "post_n": {"id": "Postingan {n}", "en": "Post {n}"},
    "seen_on": {"id": "di", "en": "on"},
    "emerging_h": {"id": "Baru muncul ({n})", "en": "Just emerging ({n})"},
    "emerging_note": {
        "id": "Kata dan tagar yang mulai ramai dibicarakan, tapi belum ada di katalog.",
        "en": "Words and hashtags people are starting to talk about, not in the catalogue yet.",
    },
    "emerging_words": {"id": "Sering disebut bersama", "en": "Often mentioned with"},
    "emerging_creators": {"id": "{n} kreator dalam 24 jam", "en": "{n} creators in 24 h"},
    "emerging_examples": {"id": "Contoh postingan", "en": "Example posts"},
    # Subscribing to alerts (/langganan).
    "sub_cta": {
        "id": "Dapat kabar lewat WhatsApp, Telegram atau email",
        "en": "Get alerts on WhatsApp, Telegram or email",
    },
    "sub_title": {"id": "Langganan peringatan", "en": "Subscribe to alerts"},
    "sub_lead": {
        "id": "Tanpa akun. Pilih yang ingin Anda pantau, lalu ke mana kabarnya dikirim. "
        "Tidak ada pesan pukul 21.00–06.00 WIB.",
        "en": "No account needed. Choose what to watch and where alerts go. "
        "No messages 21:00–06:00 WIB.",
    },
    "sub_categories": {"id": "Kategori (kosong: semua)", "en": "Categories (none: all)"},
    "sub_provinces": {"id": "Provinsi (kosong: semua)", "en": "Provinces (none: all)"},
    "sub_level": {"id": "Kirim kabar saat produk", "en": "Tell me when a product is"},
    "sub_level_rising": {
        "id": "mulai naik (kabar bersiap beberapa hari sebelumnya, dan saat sangat mungkin viral)",
        "en": "starting to rise (a heads-up days ahead, and when very likely to go viral)",
    },
    "sub_level_viral": {
        "id": "sangat mungkin viral dalam 24 jam saja",
        "en": "very likely to go viral within 24 hours only",
    },
    "sub_channel": {"id": "Kirim lewat", "en": "Send by"},
    "sub_email": {"id": "Alamat email", "en": "Email address"},
    "sub_phone": {"id": "Nomor WhatsApp", "en": "WhatsApp number"},
    "sub_digest": {
        "id": "Email: satu ringkasan setiap pagi pukul 06.00 WIB",
        "en": "Email: one summary every morning at 06:00 WIB",
    },
    "sub_consent": {
        "id": "Saya setuju menerima pesan peringatan Pantau di nomor ini",
        "en": "I agree to receive Pantau alert messages on this number",
    },
    "sub_submit": {"id": "Langganan", "en": "Subscribe"},
    "sub_save": {"id": "Simpan perubahan", "en": "Save changes"},
    "sub_manage_title": {"id": "Langganan Anda", "en": "Your subscription"},
    "sub_stop": {"id": "Berhenti langganan", "en": "Unsubscribe"},
    "sub_stop_confirm": {"id": "Ya, berhenti", "en": "Yes, unsubscribe"},
    "sub_stop_ask": {
        "id": "Berhenti menerima semua peringatan dari langganan ini?",
        "en": "Stop every alert of this subscription?",
    },
    "sub_stopped": {
        "id": "Anda sudah berhenti. Data kontak Anda sudah kami hapus.",
        "en": "You are unsubscribed. We deleted your contact details.",
    },
    "sub_unknown": {
        "id": "Langganan tidak ditemukan. Mungkin Anda sudah berhenti.",
        "en": "No such subscription. You may have unsubscribed already.",
    },
    "sub_keep": {
        "id": "Simpan halaman ini: di sini Anda bisa mengubah atau berhenti kapan saja. "
        "Tautannya juga ada di setiap pesan.",
        "en": "Keep this page: change or stop your alerts here at any time. "
        "Every message links to it too.",
    },
    "sub_active": {
        "id": "Aktif: kabar dikirim lewat {channel}.",
        "en": "On: alerts go by {channel}.",
    },
    "sub_telegram_step": {
        "id": "Satu langkah lagi: buka Telegram dan tekan Mulai (Start).",
        "en": "One more step: open Telegram and press Start.",
    },
    "sub_telegram_open": {"id": "Buka Telegram", "en": "Open Telegram"},
    "sub_email_step": {
        "id": "Satu langkah lagi: kami mengirim email konfirmasi. Buka tautannya, atau "
        "tekan Konfirmasi di sini.",
        "en": "One more step: we sent a confirmation email. Open its link, or press Confirm here.",
    },
    "sub_confirm": {"id": "Konfirmasi", "en": "Confirm"},
    "sub_disabled": {
        "id": "Pesan tidak bisa dikirim ke kontak ini lagi, jadi langganan dihentikan.",
        "en": "Messages could no longer reach this contact, so the alerts stopped.",
    },
    "sub_bad_email": {"id": "Alamat email tidak valid.", "en": "That email address is not valid."},
    "sub_bad_phone": {
        "id": "Nomor WhatsApp tidak valid (contoh: 0812 3456 7890).",
        "en": "That WhatsApp number is not valid (e.g. 0812 3456 7890).",
    },
    "sub_need_consent": {
        "id": "Centang persetujuan untuk menerima pesan WhatsApp.",
        "en": "Tick the consent box to receive WhatsApp messages.",
    },
    "sub_too_many": {
        "id": "Terlalu banyak pendaftaran dari jaringan ini. Coba lagi sebentar lagi.",
        "en": "Too many sign-ups from this network. Please try again a little later.",
    },
    "sub_recipient_too_often": {
        "id": "Alamat atau nomor ini sudah terlalu sering didaftarkan hari ini. Coba lagi besok.",
        "en": "This address or number has been signed up too often today. Try again tomorrow.",
    },
    "sub_bad_channel": {"id": "Pilih cara pengiriman.", "en": "Choose how to receive alerts."},
    "sub_push": {"id": "Notifikasi di perangkat ini", "en": "Notifications on this device"},
    "sub_push_denied": {
        "id": "Browser ini belum bisa menerima notifikasi. "
        "Izinkan notifikasi, atau pilih cara lain.",
        "en": "This browser cannot take notifications yet. Allow them, or choose another way.",
    },
    "sub_unknown_push_service": {
        "id": "Layanan notifikasi browser ini tidak kami kenal. Pilih cara lain.",
        "en": "This browser's push service is not one we know. Choose another way.",
    },
    "sub_bad_push": {
        "id": "Browser ini tidak memberi langganan notifikasi. Pilih cara lain.",
        "en": "This browser gave no notification subscription. Choose another way.",
    },
}

# Probability → the phrase a seller reads; thresholds from the top down.
PHRASES: tuple[tuple[float, str, dict[Lang, str]], ...] = (
    (0.85, "p5", {"id": "sangat mungkin viral", "en": "very likely to go viral"}),
    (0.70, "p4", {"id": "kemungkinan besar viral", "en": "likely to go viral"}),
    (0.50, "p3", {"id": "bisa jadi viral", "en": "might go viral"}),
    (0.30, "p2", {"id": "mulai naik", "en": "starting to rise"}),
    (0.00, "p1", {"id": "belum terlihat naik", "en": "no clear rise yet"}),
)
MONTHS: dict[Lang, tuple[str, ...]] = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def t(key: str, lang: Lang, **values: object) -> str:
    text = TEXT[key][lang]
    return text.format(**values) if values else text


def pick_lang(query_value: str | None, cookie_value: str | None) -> Lang:
    """The query string wins (it is an explicit switch), then the remembered cookie."""
    for value in (query_value, cookie_value):
        if value in LANGS:
            return value
    return "id"


def phrase(probability: float, lang: Lang) -> tuple[str, str]:
    """(css level class, plain phrase) for a probability."""
    for floor, level, words in PHRASES:
        if probability >= floor:
            return level, words[lang]
    return PHRASES[-1][1], PHRASES[-1][2][lang]


RISING_PROBABILITY = PHRASES[-2][0]  # 'mulai naik'


def is_rising(probability: float) -> bool:
    """True from 'mulai naik' upwards: below it, 'naik di' and 'kenapa naik?' would mislead."""
    return probability >= RISING_PROBABILITY


def number(value: float, lang: Lang, digits: int = 0) -> str:
    """Thousands grouped the local way: 12.345,6 in Indonesian, 12,345.6 in English."""
    text = f"{value:,.{digits}f}"
    if lang == "id":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def rupiah(value: float, lang: Lang) -> str:
    """'Rp 15.000': a typical price to the nearest hundred (thousand past a million)."""
    step = 1_000 if value >= 1_000_000 else 100
    return f"Rp {number(max(step, round(value / step) * step), lang)}"


def growth_words(growth: float | None, lang: Lang) -> str:
    """What a non-probabilistic scorer's row says instead of a chance: its growth ratio
    (the row's `score`), or that it cannot judge yet (a ratio of 0)."""
    if not growth:
        return t("uncalibrated_new", lang)
    words = growth_phrase(growth, lang)
    return t("growth", lang, growth=words[0].upper() + words[1:])


def tier_words(tier: str, lang: Lang) -> str:
    """An alert tier ("heads_up", "confident") in plain words."""
    return t(f"tier_{tier}", lang)


def pace(growth: float, lang: Lang) -> str:
    """The last 6 hours against the day's average, in words: '6,6× lebih ramai'."""
    if growth >= 1.05:
        g = number(growth, lang, 1)
        return f"{g}× lebih ramai" if lang == "id" else f"{g}× busier"
    if growth <= 0.95:
        return "lebih sepi" if lang == "id" else "quieter"
    return "sama saja" if lang == "id" else "about the same"


def wib(tick_ms: int, lang: Lang, with_date: bool = True) -> str:
    """A moment in Western Indonesian Time (UTC+7), as sellers read clocks."""
    moment = datetime.fromtimestamp(tick_ms / 1000, UTC).astimezone(WIB)
    clock = f"{moment:%H}{'.' if lang == 'id' else ':'}{moment:%M} WIB"
    if not with_date:
        return clock
    return f"{moment.day} {MONTHS[lang][moment.month - 1]} {moment.year}, {clock}"


def ago(since_ms: int, now_ms: int, lang: Lang) -> str:
    """'5 jam lalu' / '5 hours ago', measured in data time (the newest tick is 'now')."""
    minutes = max(0, (now_ms - since_ms) // 60_000)
    if minutes < 60:
        n, unit_id, unit_en = minutes, "menit", "minute"
    elif minutes < 48 * 60:
        n, unit_id, unit_en = minutes // 60, "jam", "hour"
    else:
        n, unit_id, unit_en = minutes // 1440, "hari", "day"
    if lang == "id":
        return "baru saja" if minutes < 1 else f"{n} {unit_id} lalu"
    return "just now" if minutes < 1 else f"{n} {unit_en}{'' if n == 1 else 's'} ago"


def category_label(category: str | None) -> str:
    """'makanan_ringan' → 'Makanan ringan'; categories are free text from the platforms."""
    if not category:
        return "—"
    text = category.replace("_", " ").strip()
    return text[:1].upper() + text[1:]

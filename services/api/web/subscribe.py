"""The subscribe form and the manage page: plain HTML forms that work without script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from services.api.channels.models import ChannelName, SubscriptionStatus
from services.api.i18n import Lang, category_label, t
from shared.regions import PROVINCES

CHANNEL_LABELS = {
    ChannelName.WHATSAPP: "WhatsApp",
    ChannelName.TELEGRAM: "Telegram",
    ChannelName.EMAIL: "Email",
    ChannelName.WEB_PUSH: "Web push",
}


@dataclass(frozen=True)
class FormValues:
    categories: Sequence[str] = ()
    regions: Sequence[str] = ()
    level: str = "naik"
    channel: str = ""
    email: str = ""
    phone: str = ""
    digest: bool = False
    consent: bool = False
    push: str = ""  # the browser's push subscription (JSON), filled in by the page's script


def _checks(name: str, choices: Sequence[tuple[str, str]], chosen: Sequence[str]) -> str:
    return "".join(
        f'<label class="check"><input type="checkbox" name="{name}" value="{escape(v)}"'
        f"{' checked' if v in chosen else ''}> {escape(label)}</label>"
        for v, label in choices
    )


def _radio(name: str, value: str, label: str, chosen: str) -> str:
    checked = " checked" if value == chosen else ""
    return (
        f'<label class="check"><input type="radio" name="{name}" value="{value}"{checked}>'
        f" {escape(label)}</label>"
    )


def choice_fields(categories: Sequence[str], values: FormValues, lang: Lang) -> str:
    """Categories, provinces and level: shared by the subscribe and the manage form."""
    cats = [(c, category_label(c)) for c in sorted(set(categories) | set(values.categories))]
    provinces = sorted(PROVINCES.items(), key=lambda p: p[1])
    open_regions = " open" if values.regions else ""
    return (
        f"<fieldset><legend>{t('sub_categories', lang)}</legend>"
        f"{_checks('category', cats, values.categories)}</fieldset>"
        f'<details class="regions"{open_regions}><summary>{t("sub_provinces", lang)}</summary>'
        f"<fieldset>{_checks('region', provinces, values.regions)}</fieldset></details>"
        f"<fieldset><legend>{t('sub_level', lang)}</legend>"
        f"{_radio('level', 'naik', t('sub_level_rising', lang), values.level)}"
        f"{_radio('level', 'viral', t('sub_level_viral', lang), values.level)}</fieldset>"
    )


def _lang_field(lang: Lang) -> str:
    return '<input type="hidden" name="lang" value="en">' if lang == "en" else ""


def subscribe_body(
    categories: Sequence[str],
    channels: Sequence[ChannelName],
    values: FormValues,
    lang: Lang,
    error: str | None = None,
    push_key: str = "",
) -> str:
    """The form at /langganan: what to watch, then the channel and its address.

    Web push needs the browser's subscription, which only script can get: its choice is
    hidden until the page's script finds push support, so without script the form offers
    only what works without it."""
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    chosen = values.channel or (channels[0].value if len(channels) == 1 else "")
    radios = "".join(
        _radio("channel", c.value, CHANNEL_LABELS[c], chosen)
        for c in channels
        if c != ChannelName.WEB_PUSH
    )
    push_attr = ""
    if ChannelName.WEB_PUSH in channels and push_key:
        push_attr = f' data-push-key="{escape(push_key)}"'
        radios += (
            f"<div data-push hidden>{_radio('channel', 'webpush', t('sub_push', lang), chosen)}"
            '<input type="hidden" name="push" value="">'
            f'<p class="error" role="alert" data-push-error hidden>{t("sub_push_denied", lang)}'
            "</p></div>"
        )
    address = ""
    if ChannelName.WHATSAPP in channels:
        address += (
            f'<div class="field"><label for="s-phone">{t("sub_phone", lang)}</label>'
            f'<input id="s-phone" name="phone" type="tel" inputmode="tel" autocomplete="tel"'
            f' value="{escape(values.phone)}"></div>'
            f'<label class="check"><input type="checkbox" name="consent" value="1"'
            f"{' checked' if values.consent else ''}> {t('sub_consent', lang)}</label>"
        )
    if ChannelName.EMAIL in channels:
        address += (
            f'<div class="field"><label for="s-email">{t("sub_email", lang)}</label>'
            f'<input id="s-email" name="email" type="email" autocomplete="email"'
            f' value="{escape(values.email)}"></div>'
            f'<label class="check"><input type="checkbox" name="digest" value="1"'
            f"{' checked' if values.digest else ''}> {t('sub_digest', lang)}</label>"
        )
    return (
        f'<h1>{t("sub_title", lang)}</h1><p class="lead">{t("sub_lead", lang)}</p>{alert}'
        f'<form class="subscribe" method="post" action="/langganan"{push_attr}>'
        f"{choice_fields(categories, values, lang)}"
        f"<fieldset><legend>{t('sub_channel', lang)}</legend>{radios}</fieldset>"
        f"{address}{_lang_field(lang)}"
        f'<div class="actions"><button type="submit">{t("sub_submit", lang)}</button></div>'
        f"</form>"
    )


@dataclass(frozen=True)
class ManageView:
    token: str
    channel: ChannelName
    status: SubscriptionStatus
    values: FormValues
    telegram_link: str | None  # the deep link, while the chat is not linked yet


def manage_body(view: ManageView, categories: Sequence[str], lang: Lang) -> str:
    """/langganan/<token>: where the subscription stands, `ubah` and `berhenti`."""
    base = f"/langganan/{view.token}"
    label = CHANNEL_LABELS[view.channel]
    if view.status == SubscriptionStatus.ACTIVE:
        state = f'<p class="ok" role="status">{escape(t("sub_active", lang, channel=label))}</p>'
    elif view.status == SubscriptionStatus.DISABLED:
        state = f'<p class="error" role="status">{t("sub_disabled", lang)}</p>'
    elif view.channel == ChannelName.TELEGRAM and view.telegram_link:
        state = (
            f'<p class="step" role="status">{t("sub_telegram_step", lang)}</p>'
            f'<p><a class="cta" href="{escape(view.telegram_link)}">'
            f"{t('sub_telegram_open', lang)}</a></p>"
        )
    else:
        state = (
            f'<p class="step" role="status">{t("sub_email_step", lang)}</p>'
            f'<form method="post" action="{base}/konfirmasi">{_lang_field(lang)}'
            f'<div class="actions"><button type="submit">{t("sub_confirm", lang)}</button>'
            "</div></form>"
        )
    return (
        f'<h1>{t("sub_manage_title", lang)}</h1>{state}<p class="note">{t("sub_keep", lang)}</p>'
        f'<form class="subscribe" method="post" action="{base}">'
        f"{choice_fields(categories, view.values, lang)}{_lang_field(lang)}"
        f'<div class="actions"><button type="submit">{t("sub_save", lang)}</button></div></form>'
        f'<p><a class="stop" href="{base}/berhenti">{t("sub_stop", lang)}</a></p>'
    )


def stop_body(token: str, lang: Lang) -> str:
    """Asks before ending: a GET (a mail scanner following the link) changes nothing."""
    return (
        f"<h1>{t('sub_stop', lang)}</h1><p>{t('sub_stop_ask', lang)}</p>"
        f'<form method="post" action="/langganan/{escape(token)}/berhenti">{_lang_field(lang)}'
        f'<div class="actions"><button type="submit">{t("sub_stop_confirm", lang)}</button>'
        f'<a href="/langganan/{escape(token)}">{t("back", lang)}</a></div></form>'
    )


def message_body(key: str, lang: Lang) -> str:
    return f'<h1>{t("sub_title", lang)}</h1><p role="status">{t(key, lang)}</p>' + (
        f'<p><a href="/">{t("back", lang)}</a></p>'
    )

"""Texts the bridge writes into the CRM for people to read, in the CRM's language (Russian or English).

The language comes from the CRM itself, the `language` of the API user in vtiger (`ru_ru` on a
SalesPlatform install), unless `vtiger.language` in the configuration says otherwise. Logs, the command
line and the administrator's configuration stay English; only what sales people see in the CRM follows
the CRM: the comment on a client's card when a message was not delivered and its reasons.

Reasons are chosen by the failure's code (`OutboxTarget.error_code`: a `NotAllowedReason`, an error
class name, `DISABLED`, `NOT_FOUND`), per network where the networks differ. A code without a text here
keeps the network's own (English) explanation, introduced in the CRM's language. In English the
network's explanation is used as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"


def language_of(vtiger_language: str) -> str:
    """The bridge's text language for a vtiger language code (`ru_ru` -> ru; anything unknown -> en)."""
    code = vtiger_language.strip().lower().replace("-", "_")
    prefix = code.split("_", 1)[0]
    return prefix if prefix in LANGUAGES else DEFAULT_LANGUAGE


NETWORK_NAMES: dict[str, dict[str, str]] = {
    "en": {"vk": "VK", "x": "X (Twitter)", "facebook": "Facebook", "telegram": "Telegram", "max": "MAX"},
    "ru": {
        "vk": "ВКонтакте",
        "x": "X (Twitter)",
        "facebook": "Facebook",
        "telegram": "Telegram",
        "max": "MAX",
    },
}
# The failure code of a send that may or may not have arrived and is never repeated automatically (the
# provider's `ProviderDeliveryUnknown`): its record shows `status_unknown`, its comment says so.
DELIVERY_UNKNOWN = "ProviderDeliveryUnknown"

_HEADER = {
    "en": "The message «{preview}» was not delivered:",
    "ru": "Сообщение «{preview}» не доставлено:",
}
_HEADER_UNKNOWN = {
    "en": "It is not known whether the message «{preview}» was delivered:",
    "ru": "Неизвестно, доставлено ли сообщение «{preview}»:",
}
_UNKNOWN_DELIVERY = {
    "en": "{network} gave no answer to the send and cannot show the bot its chat, so the bridge does not "
    "know whether the message arrived and will not send it again (it could arrive twice). Ask the client "
    "or look in {network}, then send it again if needed.",
    "ru": "{network} не ответил на отправку, а бот не может посмотреть переписку, поэтому мост не знает, "
    "дошло ли сообщение, и не отправит его повторно (оно могло бы прийти дважды). Уточните у клиента или "
    "посмотрите в {network} и при необходимости отправьте ещё раз.",
}
# What a client's Start or Stop in a bot becomes in the CRM.
_STARTED = {
    "en": "/start: the client started the conversation with the {network} bot",
    "ru": "/start: клиент начал диалог с ботом {network}",
}
_STOPPED = {
    "en": "The client stopped or blocked the {network} bot: messages to them are not delivered until they "
    "press Start in the bot again.",
    "ru": "Клиент остановил или заблокировал бота {network}: сообщения ему не доставляются, пока он снова "
    "не нажмёт «Запустить» (Start) в боте.",
}
_UNKNOWN = {"en": "unknown error", "ru": "неизвестная ошибка"}
# A failure this catalog has no words for: the network's own explanation (English), introduced.
_AS_SAID = {"en": "{text}", "ru": "ответ сети (по-английски): {text}"}

# (code, network or "") -> text; "" is the text for any network without its own. English needs no table:
# the providers already explain every failure for a CRM user in English (`providers.errors`), with details
# (the VK error code, the time of the client's last message) that a translation by code cannot keep.
_REASONS: dict[str, dict[tuple[str, str], str]] = {
    "ru": {
        ("NOT_OPTED_IN", "vk"): "ВКонтакте не разрешает сообществу писать этому человеку, пока он сам не "
        "напишет сообществу или не разрешит сообщения от него.",
        ("NOT_OPTED_IN", "x"): "этот человек не принимает личные сообщения от нашего аккаунта в X (он "
        "получает их только от тех, на кого подписан).",
        ("NOT_OPTED_IN", "telegram"): "клиент ещё не нажал «Запустить» (Start) в боте Telegram; бот не "
        "может написать первым. Отправьте клиенту ссылку-приглашение (команда invite).",
        ("NOT_OPTED_IN", "max"): "клиент ещё не начал диалог с ботом MAX; бот не может написать первым. "
        "Отправьте клиенту ссылку-приглашение (команда invite).",
        ("NOT_OPTED_IN", ""): "этот человек не разрешил сообщения от нас: сначала он должен написать сам.",
        ("PRIVACY", "vk"): "настройки приватности этого человека во ВКонтакте не разрешают сообщения от "
        "сообщества.",
        ("PRIVACY", "x"): "X не позволяет нашему аккаунту писать этому человеку (блокировка или настройки "
        "приватности).",
        ("PRIVACY", ""): "настройки приватности этого человека не разрешают сообщения от нас.",
        ("BLACKLISTED", "vk"): "этот человек заблокировал сообщество во ВКонтакте.",
        ("BLACKLISTED", "telegram"): "клиент заблокировал бота Telegram.",
        ("BLACKLISTED", "max"): "клиент остановил или заблокировал бота MAX.",
        ("BLACKLISTED", ""): "этот человек заблокировал нас.",
        ("WINDOW_CLOSED", ""): "Facebook разрешает странице отвечать только в течение ограниченного времени "
        "после последнего сообщения клиента (24 часа, с меткой HUMAN_AGENT — 7 дней); "
        "клиент должен снова написать странице.",
        ("NO_CONVERSATION", "facebook"): "этот человек сейчас недоступен в Messenger (возможно, он "
        "заблокировал страницу); он должен снова написать странице.",
        ("NO_CONVERSATION", ""): "этот человек ещё ни разу нам не писал, а сеть не позволяет написать "
        "первыми.",
        ("UNSUPPORTED_BY_NETWORK", "facebook"): "Facebook не позволяет странице найти человека по ссылке на "
        "профиль; клиент должен сначала написать странице.",
        ("UNSUPPORTED_BY_NETWORK", "telegram"): "Telegram принимает сообщения от 1 до 4096 символов, а бот "
        "не может найти человека по ссылке на профиль; сократите текст или свяжите клиента приглашением.",
        ("UNSUPPORTED_BY_NETWORK", "max"): "MAX принимает сообщения до 4000 символов (мост делит длинный "
        "текст не более чем на 10 сообщений), а бот не может найти человека по ссылке на профиль; сократите "
        "текст или свяжите клиента приглашением.",
        ("UNSUPPORTED_BY_NETWORK", ""): "сеть не позволяет отправить такое сообщение.",
        ("PERMISSION_DENIED", "vk"): "у ключа доступа моста во ВКонтакте нет права на сообщения; "
        "администратору нужно создать ключ сообщества с правом «Сообщения "
        "сообщества».",
        ("PERMISSION_DENIED", "x"): "уровень доступа или права приложения X (dm.write) не позволяют личные "
        "сообщения; их должен изменить администратор.",
        ("PERMISSION_DENIED", "facebook"): "у токена страницы Facebook нет нужного разрешения "
        "(pages_messaging); администратору нужно его обновить.",
        ("PERMISSION_DENIED", ""): "у доступа моста к сети нет нужного разрешения.",
        ("ProviderNotFound", "vk"): "страница ВКонтакте удалена или заблокирована, либо по ссылке никого "
        "нет; проверьте ссылку на профиль.",
        ("ProviderNotFound", "x"): "такого аккаунта в X нет или он заблокирован; проверьте ссылку на "
        "профиль.",
        ("ProviderNotFound", ""): "сеть не знает этого человека; проверьте ссылку на профиль.",
        ("NOT_FOUND", ""): "по ссылке {url} нет аккаунта {network}; проверьте ссылку.",
        ("InvalidProfileUrl", ""): "ссылка {url} не ведёт на профиль человека.",
        ("DISABLED", ""): "подключение к сети {network} выключено в настройках моста.",
        ("FOREIGN_MESSAGE", ""): "сеть {network} ответила номером сообщения, которое мост отправлял не "
        "этому клиенту, поэтому отправка не отмечена как доставленная; проверьте "
        "переписку и при необходимости отправьте сообщение ещё раз.",
    },
}


@dataclass(frozen=True)
class FailedTarget:
    """One network a message did not reach: what the comment needs to know about it."""

    network: str
    code: str | None
    text: str | None
    url: str = ""


def network_name(language: str, network: str) -> str:
    return NETWORK_NAMES.get(language, NETWORK_NAMES[DEFAULT_LANGUAGE]).get(network, network)


def reason(language: str, target: FailedTarget) -> str:
    """Why a message did not reach `target.network`, in `language`."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    texts = _REASONS.get(language, {})
    code = target.code or ""
    template = texts.get((code, target.network)) or texts.get((code, ""))
    if template is None:
        if target.text:
            return _AS_SAID[language].format(text=target.text)
        return _UNKNOWN[language]
    return template.format(network=network_name(language, target.network), url=target.url or "?")


def failure_comment(language: str, text: str, failed: Sequence[FailedTarget]) -> str:
    """The comment left on the client's card when a message did not reach one or more networks, or may not
    have (delivery unknown: said apart, under its own header)."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    preview = text if len(text) <= 80 else text[:79] + "…"
    lost = [t for t in failed if t.code != DELIVERY_UNKNOWN]
    unknown = [t for t in failed if t.code == DELIVERY_UNKNOWN]
    lines: list[str] = []
    if lost:
        lines.append(_HEADER[language].format(preview=preview))
        lines += [f"- {network_name(language, t.network)}: {reason(language, t)}" for t in lost]
    if unknown:
        lines.append(_HEADER_UNKNOWN[language].format(preview=preview))
        for target in unknown:
            name = network_name(language, target.network)
            lines.append(f"- {name}: {_UNKNOWN_DELIVERY[language].format(network=name)}")
    return "\n".join(lines)


def started_text(language: str, network: str) -> str:
    """The text of the message record a client's Start becomes (the first message of the conversation)."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    return _STARTED[language].format(network=network_name(language, network))


def stopped_comment(language: str, network: str) -> str:
    """The comment on a linked record when the client stopped or blocked the bot."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    return _STOPPED[language].format(network=network_name(language, network))

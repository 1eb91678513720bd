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
    "en": {"vk": "VK", "x": "X (Twitter)", "facebook": "Facebook"},
    "ru": {"vk": "ВКонтакте", "x": "X (Twitter)", "facebook": "Facebook"},
}

_HEADER = {
    "en": "The message «{preview}» was not delivered:",
    "ru": "Сообщение «{preview}» не доставлено:",
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
        ("NOT_OPTED_IN", ""): "этот человек не разрешил сообщения от нас: сначала он должен написать сам.",
        ("PRIVACY", "vk"): "настройки приватности этого человека во ВКонтакте не разрешают сообщения от "
        "сообщества.",
        ("PRIVACY", "x"): "X не позволяет нашему аккаунту писать этому человеку (блокировка или настройки "
        "приватности).",
        ("PRIVACY", ""): "настройки приватности этого человека не разрешают сообщения от нас.",
        ("BLACKLISTED", "vk"): "этот человек заблокировал сообщество во ВКонтакте.",
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
    """The comment left on the client's card when a message did not reach one or more networks."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    preview = text if len(text) <= 80 else text[:79] + "…"
    lines = [_HEADER[language].format(preview=preview)]
    for target in failed:
        lines.append(f"- {network_name(language, target.network)}: {reason(language, target)}")
    return "\n".join(lines)

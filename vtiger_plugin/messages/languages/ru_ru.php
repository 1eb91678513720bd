<?php
/*
 * SPDX-License-Identifier: MIT
 * Подписи модуля сообщений SPSocialConnector (его создаёт модуль SocialBridge в vtiger без SalesPlatform).
 */
$languageStrings = array(
    'SPSocialConnector' => 'Сообщения',
    'SINGLE_SPSocialConnector' => 'Сообщение',
    'LBL_SPSOCIALCONNECTOR_INFORMATION' => 'Информация',
    'message' => 'Сообщение',
    'Date Time' => 'Дата и время отправки',
    'Type' => 'Тип',
    'Vkontakte' => 'Vkontakte',
    'Twitter' => 'Twitter',
    'Vkontakte Message ID' => 'ID сообщения Vkontakte',
    'Twitter Message ID' => 'ID сообщения Twitter',
    'Telegram' => 'Telegram',
    'MAX' => 'MAX',
    'Telegram Message ID' => 'ID сообщения Telegram',
    'MAX Message ID' => 'ID сообщения MAX',
    'Delivery unknown' => 'Доставка неизвестна',
    'Outbound' => 'Исходящее',
    'Incoming' => 'Входящее',
    'Sent' => 'Сообщение отправлено',
    'Not sent' => 'Сообщение не отправлено',
    'Received' => 'Получено',
);
$jsLanguageStrings = array();

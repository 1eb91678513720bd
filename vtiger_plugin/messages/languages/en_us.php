<?php
/*
 * SPDX-License-Identifier: MIT
 * Labels of the messages module SPSocialConnector (created by the SocialBridge module on plain vtiger).
 */
$languageStrings = array(
    'SPSocialConnector' => 'Messages',
    'SINGLE_SPSocialConnector' => 'Message',
    'LBL_SPSOCIALCONNECTOR_INFORMATION' => 'Message',
    'message' => 'Message',
    'Date Time' => 'Date Time',
    'Type' => 'Type',
    'Vkontakte' => 'VK',
    'Twitter' => 'X (Twitter)',
    'Vkontakte Message ID' => 'VK message ID',
    'Twitter Message ID' => 'X message ID',
    'Telegram' => 'Telegram',
    'MAX' => 'MAX',
    'Telegram Message ID' => 'Telegram message ID',
    'MAX Message ID' => 'MAX message ID',
    'Delivery unknown' => 'Delivery unknown',
    'Outbound' => 'Outbound',
    'Incoming' => 'Incoming',
    'Sent' => 'Sent',
    'Not sent' => 'Not sent',
    'Received' => 'Received',
);
$jsLanguageStrings = array();

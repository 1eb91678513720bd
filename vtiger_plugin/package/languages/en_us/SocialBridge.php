<?php
/* SPDX-License-Identifier: MIT. Texts of the SocialBridge module (record buttons and the send form). */
$languageStrings = array(
    'SocialBridge' => 'Social bridge',
    'LBL_SOCIALBRIDGE_DESCRIPTION' => 'Connection to the social bridge: VK, X and Facebook messages and profiles',
    'LBL_SOCIALBRIDGE' => 'Social bridge',
    'LBL_SEND_MESSAGE' => 'Send message',
    'LBL_IMPORT_PROFILE' => 'Import profile',
    'LBL_SEND_TITLE' => 'Send a message through the social bridge',
    'LBL_TEXT' => 'Message',
    'LBL_NETWORKS' => 'Networks',
    'LBL_SEND' => 'Send',
    'LBL_CANCEL' => 'Cancel',
    'LBL_NO_LINKS' => 'This record has no social profile link (%s): fill one in first.',
    'vk' => 'VK',
    'x' => 'X (Twitter)',
    'facebook' => 'Facebook',
    'LBL_NOT_SET_UP' => 'The social bridge is not set up yet: ask your administrator (Settings, Social bridge). Nothing was sent.',
    'LBL_BRIDGE_DOWN' => 'The social bridge does not answer: the message was NOT sent. Try again later; if it goes on, tell your administrator.',
    'LBL_BRIDGE_SECRET' => 'The social bridge refused the request (its secret or its clock differs from the CRM\'s): NOT sent. Tell your administrator.',
    'LBL_BRIDGE_REFUSED' => 'The social bridge refused the request: NOT sent.',
    'LBL_SEND_ACCEPTED' => 'The bridge took the message. It appears under Messages of this record in a few seconds, with its status per network.',
    'LBL_IMPORT_ACCEPTED' => 'The bridge is reading the profile: its empty fields are filled in a few seconds (reload the page to see them).',
    'LBL_NO_TEXT' => 'Type the message first.',
    'LBL_NO_NETWORK' => 'Choose at least one network.',
);
$jsLanguageStrings = array(
    'JS_SOCIALBRIDGE_NO_TEXT' => 'Type the message first.',
    'JS_SOCIALBRIDGE_NO_NETWORK' => 'Choose at least one network.',
    'JS_SOCIALBRIDGE_FAILED' => 'The request did not reach the CRM; try again.',
);

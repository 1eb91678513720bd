<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Названия функций моста соцсетей в задаче процесса «Вызвать пользовательскую функцию» (русский).
 * install.php регистрирует их на языке CRM; английские — в languages/en_us.php.
 */
return array(
    'socialbridge_send' => 'Соцсети: отправить сообщение',
    'socialbridge_import_profile' => 'Соцсети: заполнить карточку из профиля',
    'socialbridge_record_saved' => 'Соцсети: запись сохранена',
    'socialbridge_invite' => 'Соцсети: приглашение в Telegram/MAX',
);

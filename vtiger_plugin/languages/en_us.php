<?php
/*
 * SPDX-License-Identifier: MIT
 *
 * Labels of the social bridge functions in the workflow task "Invoke Custom Function" (English).
 * install.php registers them in the CRM's language; see languages/ru_ru.php.
 */
return array(
    'socialbridge_send' => 'Social bridge: send message',
    'socialbridge_import_profile' => 'Social bridge: import profile',
    'socialbridge_record_saved' => 'Social bridge: record saved',
    'socialbridge_invite' => 'Social bridge: invitation to Telegram/MAX',
);

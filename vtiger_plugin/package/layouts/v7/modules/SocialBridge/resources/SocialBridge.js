/* SPDX-License-Identifier: MIT
 * The record buttons of the social bridge ("Send message", "Import profile") on Contacts, Accounts and
 * Leads; loaded on every page (a HEADERSCRIPT link). The requests go to the CRM, which signs them for the
 * bridge server-side (modules/SocialBridge/actions/RecordAction.php): the secret never reaches the browser.
 */
var SocialBridge_Record_Js = {
    notify: function (result) {
        if (result && result.ok) {
            app.helper.showSuccessNotification({message: result.message}, {delay: 15000});
        } else {
            app.helper.showErrorNotification({message: result ? result.message : app.vtranslate('JS_SOCIALBRIDGE_FAILED')},
                {delay: 30000});
        }
    },

    showSendForm: function () {
        var params = {module: 'SocialBridge', view: 'SendForm', source_module: app.getModuleName(), record: app.getRecordId()};
        app.request.get({data: params}).then(function (error, html) {
            if (error) {
                SocialBridge_Record_Js.notify(null);
                return;
            }
            app.helper.showModal(html);
        });
    },

    send: function (form) {
        var error = form.find('#socialbridgeSendError');
        var text = jQuery.trim(form.find('[name="text"]').val());
        if (text === '') {
            error.text(app.vtranslate('JS_SOCIALBRIDGE_NO_TEXT')).removeClass('hide');
            return;
        }
        if (form.find('[name="networks[]"]:checked').length === 0) {
            error.text(app.vtranslate('JS_SOCIALBRIDGE_NO_NETWORK')).removeClass('hide');
            return;
        }
        var button = form.find('#socialbridgeSendButton').attr('disabled', 'disabled');
        app.request.post({data: form.serialize()}).then(function (failure, result) {
            button.removeAttr('disabled');
            if (!failure && result && result.ok) {
                app.helper.hideModal();
                SocialBridge_Record_Js.notify(result);
                return;
            }
            // Not sent: the form stays open with its text, and says why.
            error.text(result ? result.message : app.vtranslate('JS_SOCIALBRIDGE_FAILED')).removeClass('hide');
        });
    },

    importProfile: function () {
        var params = {module: 'SocialBridge', action: 'RecordAction', mode: 'import', source_module: app.getModuleName(),
            record: app.getRecordId()};
        app.request.post({data: params}).then(function (failure, result) {
            SocialBridge_Record_Js.notify(failure ? null : result);
        });
    }
};

// Bound once, on the document: the form is sent by script even when it is submitted before the modal
// finished opening (the form itself never submits: onsubmit="return false").
jQuery(document).on('submit', 'form[name="socialbridgeSend"]', function (event) {
    event.preventDefault();
    SocialBridge_Record_Js.send(jQuery(this));
});

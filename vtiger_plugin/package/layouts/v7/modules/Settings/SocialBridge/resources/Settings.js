/* SPDX-License-Identifier: MIT
 * Settings -> Social bridge: "check connection" loads the bridge's state, read by the CRM server-side
 * (modules/Settings/SocialBridge/views/Status.php), into the page; it also runs once when the page opens.
 */
jQuery(function () {
    var box = jQuery('#socialbridgeStatus');
    if (box.length === 0) {
        return;
    }
    var check = function () {
        box.html('<p class="text-muted">' + box.data('loading') + '</p>');
        app.request.get({data: {module: 'SocialBridge', parent: 'Settings', view: 'Status'}}).then(function (error, html) {
            box.html(error ? '<div class="alert alert-danger">' + (error.message || error) + '</div>' : html);
        });
    };
    jQuery('#socialbridgeCheck').on('click', check);
    check();
});

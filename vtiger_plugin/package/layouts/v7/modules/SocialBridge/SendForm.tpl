{* SPDX-License-Identifier: MIT. The "Send message" form (modules/SocialBridge/views/SendForm.php). *}
{strip}
<div class="modal-dialog" id="socialbridgeSendForm">
  <div class="modal-content">
    <form class="form-horizontal" name="socialbridgeSend" onsubmit="return false;">
      <input type="hidden" name="module" value="SocialBridge"/>
      <input type="hidden" name="action" value="RecordAction"/>
      <input type="hidden" name="mode" value="send"/>
      <input type="hidden" name="source_module" value="{$SOURCE_MODULE}"/>
      <input type="hidden" name="record" value="{$RECORD_ID}"/>
      <input type="hidden" name="event_id" value="{$EVENT_ID}"/>
      <div class="modal-header">
        <button type="button" class="close" data-dismiss="modal" aria-label="{vtranslate('LBL_CANCEL', $MODULE)}">&times;</button>
        <h4 class="modal-title">{vtranslate('LBL_SEND_TITLE', $MODULE)}: {$RECORD_LABEL|escape}</h4>
      </div>
      <div class="modal-body">
        {if empty($LINKS)}
          <div class="alert alert-warning">{vtranslate('LBL_NO_LINKS', $MODULE)|replace:'%s':'Vkontakte URL, Twitter URL'}</div>
        {else}
          <div class="form-group">
            <label class="control-label col-sm-3">{vtranslate('LBL_NETWORKS', $MODULE)}</label>
            <div class="col-sm-9">
              {foreach key=NETWORK item=URL from=$LINKS}
                <div class="checkbox"><label><input type="checkbox" name="networks[]" value="{$NETWORK}" checked/>
                  {vtranslate($NETWORK, $MODULE)} <span class="text-muted">{$URL|escape}</span></label></div>
              {/foreach}
            </div>
          </div>
          <div class="form-group">
            <label class="control-label col-sm-3" for="socialbridgeText">{vtranslate('LBL_TEXT', $MODULE)}</label>
            <div class="col-sm-9"><textarea class="form-control" id="socialbridgeText" name="text" rows="5"></textarea></div>
          </div>
        {/if}
        <div class="alert alert-danger hide" id="socialbridgeSendError"></div>
      </div>
      <div class="modal-footer">
        {if !empty($LINKS)}
          <button type="submit" class="btn btn-success" id="socialbridgeSendButton">{vtranslate('LBL_SEND', $MODULE)}</button>
        {/if}
        <a href="#" class="cancelLink" data-dismiss="modal">{vtranslate('LBL_CANCEL', $MODULE)}</a>
      </div>
    </form>
  </div>
</div>
{/strip}

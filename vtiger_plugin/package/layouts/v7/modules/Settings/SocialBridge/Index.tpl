{* SPDX-License-Identifier: MIT. Settings -> Social bridge (modules/Settings/SocialBridge/views/Index.php). *}
{strip}
<div class="col-lg-12 col-md-12 col-sm-12" id="socialbridgeSettings">
  <div class="widget_header"><h4>{vtranslate('LBL_SOCIALBRIDGE', $QUALIFIED_MODULE)}</h4></div>
  <hr>
  {if $NOTICE}
    <div class="alert {if $NOTICE eq 'LBL_SAVED' or $NOTICE eq 'LBL_FLUSH_DONE'}alert-success{else}alert-warning{/if}" id="socialbridgeNotice">
      {vtranslate($NOTICE, $QUALIFIED_MODULE)}{if $NOTICE_DETAIL} ({vtranslate('LBL_FLUSH_COUNTS', $QUALIFIED_MODULE)}: {$NOTICE_DETAIL|escape}){/if}
    </div>
  {/if}
  {if $FILE_CONFIG}
    <div class="alert alert-info">{vtranslate('LBL_FILE_CONFIG', $QUALIFIED_MODULE)}</div>
  {/if}

  <h5>{vtranslate('LBL_CONNECTION', $QUALIFIED_MODULE)}</h5>
  <form class="form-horizontal" method="POST" action="index.php" id="socialbridgeSettingsForm">
    <input type="hidden" name="module" value="SocialBridge"/>
    <input type="hidden" name="parent" value="Settings"/>
    <input type="hidden" name="action" value="Save"/>
    <div class="form-group">
      <label class="control-label col-sm-3" for="socialbridgeUrl">{vtranslate('LBL_BRIDGE_URL', $QUALIFIED_MODULE)}</label>
      <div class="col-sm-6"><input class="form-control" type="text" id="socialbridgeUrl" name="bridge_url" value="{$BRIDGE_URL|escape}" placeholder="http://127.0.0.1:8787"/>
        <span class="help-block">{vtranslate('LBL_BRIDGE_URL_HELP', $QUALIFIED_MODULE)}</span></div>
    </div>
    <div class="form-group">
      <label class="control-label col-sm-3" for="socialbridgeSecret">{vtranslate('LBL_SECRET', $QUALIFIED_MODULE)}</label>
      <div class="col-sm-6"><input class="form-control" type="password" id="socialbridgeSecret" name="secret" value="" autocomplete="new-password"/>
        <span class="help-block">{if $SECRET_SET}{vtranslate('LBL_SECRET_IS_SET', $QUALIFIED_MODULE)|replace:'%d':$SECRET_LENGTH}{else}{vtranslate('LBL_SECRET_HELP', $QUALIFIED_MODULE)}{/if}</span></div>
    </div>
    <div class="form-group">
      <label class="control-label col-sm-3" for="socialbridgeDataDir">{vtranslate('LBL_DATA_DIR', $QUALIFIED_MODULE)}</label>
      <div class="col-sm-6"><input class="form-control" type="text" id="socialbridgeDataDir" name="data_dir" value="{$DATA_DIR|escape}"/>
        <span class="help-block">{vtranslate('LBL_DATA_DIR_HELP', $QUALIFIED_MODULE)|replace:'%s':$SYSTEM_DIR}</span>
        {if $EXPOSURE}
          {if $EXPOSURE.state eq 'reachable'}
            <div class="alert alert-danger" id="socialbridgeExposure">{vtranslate('LBL_EXPOSED', $QUALIFIED_MODULE)} <code>{$EXPOSURE.url|escape}</code></div>
          {elseif $EXPOSURE.state eq 'private'}
            <div class="text-success" id="socialbridgeExposure">{vtranslate('LBL_NOT_EXPOSED', $QUALIFIED_MODULE)}</div>
          {else}
            <div class="alert alert-warning" id="socialbridgeExposure">{vtranslate('LBL_EXPOSURE_UNKNOWN', $QUALIFIED_MODULE)} {$EXPOSURE.detail|escape}</div>
          {/if}
        {/if}
      </div>
    </div>
    <div class="form-group"><div class="col-sm-offset-3 col-sm-6">
      <button type="submit" class="btn btn-success" id="socialbridgeSave">{vtranslate('LBL_SAVE', $QUALIFIED_MODULE)}</button>
      &nbsp;<button type="button" class="btn btn-default" id="socialbridgeCheck">{vtranslate('LBL_CHECK', $QUALIFIED_MODULE)}</button>
    </div></div>
  </form>

  <h5>{vtranslate('LBL_BRIDGE_STATE', $QUALIFIED_MODULE)}</h5>
  <div id="socialbridgeStatus" data-loading="{vtranslate('LBL_CHECKING', $QUALIFIED_MODULE)|escape}">
    <p class="text-muted">{vtranslate('LBL_CHECK_HINT', $QUALIFIED_MODULE)}</p>
  </div>

  <h5>{vtranslate('LBL_SPOOL', $QUALIFIED_MODULE)}</h5>
  <form method="POST" action="index.php" class="form-inline">
    <input type="hidden" name="module" value="SocialBridge"/>
    <input type="hidden" name="parent" value="Settings"/>
    <input type="hidden" name="action" value="Flush"/>
    <p id="socialbridgeSpool">{vtranslate('LBL_SPOOL_SIZE', $QUALIFIED_MODULE)|replace:'%d':$SPOOL.events|replace:'%b':$SPOOL.bytes}
      {if $SPOOL.file} <code>{$SPOOL.file|escape}</code>{/if}</p>
    <button type="submit" class="btn btn-default" id="socialbridgeFlush" {if !$SPOOL.events}disabled{/if}>{vtranslate('LBL_SEND_NOW', $QUALIFIED_MODULE)}</button>
  </form>

  <h5>{vtranslate('LBL_UNINSTALL', $QUALIFIED_MODULE)}</h5>
  <form method="POST" action="index.php" id="socialbridgeUninstallForm">
    <input type="hidden" name="module" value="SocialBridge"/>
    <input type="hidden" name="parent" value="Settings"/>
    <input type="hidden" name="action" value="Uninstall"/>
    <p>{vtranslate('LBL_UNINSTALL_HELP', $QUALIFIED_MODULE)}</p>
    {if $WORKFLOWS}
      <div class="alert alert-warning">{vtranslate('LBL_UNINSTALL_WORKFLOWS', $QUALIFIED_MODULE)}<ul>{foreach item=NAME from=$WORKFLOWS}<li>{$NAME|escape}</li>{/foreach}</ul></div>
    {/if}
    {if $CREATED}
      <div class="checkbox"><label><input type="checkbox" name="with_data" value="1"/> {vtranslate('LBL_WITH_DATA', $QUALIFIED_MODULE)}</label></div>
    {/if}
    <div class="form-inline"><label>{vtranslate('LBL_TYPE_TO_CONFIRM', $QUALIFIED_MODULE)} <input class="form-control" type="text" name="confirm" value="" autocomplete="off"/></label>
      &nbsp;<button type="submit" class="btn btn-danger" id="socialbridgeUninstall">{vtranslate('LBL_UNINSTALL', $QUALIFIED_MODULE)}</button></div>
  </form>
</div>
{/strip}

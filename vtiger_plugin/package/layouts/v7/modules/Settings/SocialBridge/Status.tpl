{* SPDX-License-Identifier: MIT. The bridge's answer to "check connection" (views/Status.php). *}
{strip}
{if $STATE eq 'ok'}
  <div class="alert alert-success" id="socialbridgeConnection" data-state="ok">
    {vtranslate('LBL_CONNECTED', $QUALIFIED_MODULE)|replace:'%v':$STATUS.bridge.version|replace:'%t':$ELAPSED}
  </div>
  {if $OTHER_CRM}<div class="alert alert-warning">{vtranslate('LBL_OTHER_CRM', $QUALIFIED_MODULE)} <code>{$OTHER_CRM|escape}</code></div>{/if}
  <table class="table table-bordered table-condensed" id="socialbridgeComponents">
    <thead><tr><th>{vtranslate('LBL_COMPONENT', $QUALIFIED_MODULE)}</th><th>{vtranslate('LBL_STATE', $QUALIFIED_MODULE)}</th><th>{vtranslate('LBL_LAST_SUCCESS', $QUALIFIED_MODULE)}</th><th>{vtranslate('LBL_REASON', $QUALIFIED_MODULE)}</th></tr></thead>
    <tbody>
    {foreach key=NAME item=COMPONENT from=$STATUS.health.components}
      <tr class="{if $COMPONENT.state eq 'ok'}success{elseif $COMPONENT.state eq 'starting'}{else}danger{/if}">
        <td>{vtranslate($NAME, $QUALIFIED_MODULE)}</td><td>{vtranslate($COMPONENT.state, $QUALIFIED_MODULE)}</td>
        <td>{$COMPONENT.last_success|escape}</td><td>{$COMPONENT.reason|escape}</td></tr>
    {/foreach}
    </tbody>
  </table>
  <p>{vtranslate('LBL_OUTBOX', $QUALIFIED_MODULE)|replace:'%d':$STATUS.outbox.unfinished}</p>
  <h5>{vtranslate('LBL_RECENT_FAILURES', $QUALIFIED_MODULE)}</h5>
  {if empty($STATUS.failures.sends) and empty($STATUS.failures.events)}
    <p class="text-muted" id="socialbridgeNoFailures">{vtranslate('LBL_NO_FAILURES', $QUALIFIED_MODULE)}</p>
  {else}
    <table class="table table-bordered table-condensed" id="socialbridgeFailures">
      <thead><tr><th>{vtranslate('LBL_WHEN', $QUALIFIED_MODULE)}</th><th>{vtranslate('LBL_WHAT', $QUALIFIED_MODULE)}</th><th>{vtranslate('LBL_RECORD', $QUALIFIED_MODULE)}</th><th>{vtranslate('LBL_REASON', $QUALIFIED_MODULE)}</th></tr></thead>
      <tbody>
      {foreach item=ROW from=$STATUS.failures.sends}
        <tr><td>{$ROW.at|escape}</td><td>{vtranslate('LBL_FAILED_SEND', $QUALIFIED_MODULE)} ({vtranslate($ROW.network, $QUALIFIED_MODULE)})</td><td>{$ROW.record|escape}</td><td>{$ROW.error|escape}</td></tr>
      {/foreach}
      {foreach item=ROW from=$STATUS.failures.events}
        <tr><td>{$ROW.at|escape}</td><td>{vtranslate('LBL_FAILED_EVENT', $QUALIFIED_MODULE)} {$ROW.event|escape}</td><td>{$ROW.record|escape}</td><td>{$ROW.error|escape}</td></tr>
      {/foreach}
      </tbody>
    </table>
  {/if}
{else}
  <div class="alert alert-danger" id="socialbridgeConnection" data-state="{$STATE}">
    {vtranslate('LBL_STATE_'|cat:$STATE, $QUALIFIED_MODULE)}{if $ERROR} <code>{$ERROR|escape}</code>{/if}
  </div>
{/if}
{/strip}

<?php
// The real VTQL lexer and parser of a vtiger source tree, run on queries read from stdin (one JSON string per
// line); prints one JSON outcome per line: {"ok": sql}, {"fail": ""} (no accept, no error), {"code", "message"}
// (a WebServiceException), {"exception": class} (any other exception: INTERNAL_SERVER_ERROR), or
// {"hang": true} (VTQL_Parser::__destruct would spin for ever). The module metadata is a stub: fields
// firstname, lastname, account_id (reference), assigned_user_id (owner), vk_url, description, modifiedtime, id
// of modules Contacts and ModComments. Used by tools/real-vtiger/vtql_corpus.py; needs only php-cli:
//     php7.4 tools/real-vtiger/vtql_oracle.php /opt/src/salesplatform-7.2 < queries.jsonl
class WebServiceException extends Exception { public $code; public $message;
  function __construct($code, $message) { $this->code = $code; $this->message = $message; } }
class WebServiceErrorCode { static $QUERYSYNTAX = "QUERY_SYNTAX_ERROR"; static $ACCESSDENIED = "ACCESS_DENIED";
  static $INVALIDID = "INVALID_ID_ATTRIBUTE"; }
class Vtiger_Functions { static function isUserSpecificFieldTable($t, $m) { return false; } }
class FakeMeta {
  function getFieldColumnMapping() { return array('firstname'=>'firstname','lastname'=>'lastname','account_id'=>'accountid',
     'assigned_user_id'=>'smownerid','vk_url'=>'vk_url','description'=>'description','modifiedtime'=>'modifiedtime','id'=>'crmid'); }
  function getColumnTableMapping() { return array('firstname'=>'c','lastname'=>'c','accountid'=>'c','smownerid'=>'e','vk_url'=>'cf','description'=>'e','modifiedtime'=>'e','crmid'=>'e'); }
  function getEntityDeletedQuery() { return 'e.deleted=0'; }
  function getEntityAccessControlQuery() { return ''; }
  function getReferenceFieldDetails() { return array('account_id'=>array('Accounts')); }
  function getOwnerFields() { return array('assigned_user_id'); }
  function getEntityTableList() { return array('c','e','cf'); }
  function getEntityBaseTable() { return 'c'; }
  function getEntityDefaultTableList() { return array('e'); }
  function getEntityTableIndexList() { return array('c'=>'contactid','e'=>'crmid','cf'=>'contactid'); }
}
class FakeHandler { function getMeta() { return new FakeMeta(); } }
function vtws_getModuleHandlerFromName($name, $user) {
  if ($name !== 'Contacts' && $name !== 'ModComments') throw new WebServiceException("ACCESS_DENIED", "Permission to perform the operation is denied for name : $name");
  return new FakeHandler(); }
function vtws_getIdComponents($id) { return explode('x', $id); }
define('SEMI', ';');
if ($argc < 2) { fwrite(STDERR, "usage: php vtql_oracle.php VTIGER_SOURCE_DIR < queries.jsonl\n"); exit(2); }
require_once $argv[1] . '/include/Webservices/VTQL_Lexer.php';
require_once $argv[1] . '/include/Webservices/VTQL_Parser.php';
error_reporting(0);
while (($line = fgets(STDIN)) !== false) {
  $q = json_decode($line);
  $GLOBALS['where_col'] = false; $GLOBALS['orderby'] = false; $GLOBALS['in_started'] = false; $GLOBALS['count'] = false;
  $lex = new VTQL_Lexer($q); $out = array();
  $parser = new VTQL_Parser(null, $lex, $out);
  try {
    while ($lex->yylex()) { $parser->doParse($lex->token, $lex->value); }
    $parser->doParse(0, 0);
    $r = $parser->isSuccess() ? array("ok" => $parser->getQuery()) : array("fail" => $parser->getErrorMsg());
  } catch (WebServiceException $e) { $r = array("code" => $e->code, "message" => $e->message);
  } catch (Throwable $e) { $r = array("exception" => get_class($e)); }
  // VTQL_Parser::__destruct pops while yyidx >= 0 but stops popping once the array is empty: it spins
  // for ever when the stack holds fewer entries than yyidx says (null >= 0 is true too).
  if ($parser->yyidx === null || ($parser->yyidx >= 0 && count($parser->yystack) <= $parser->yyidx)) {
    $r = array("hang" => true); $parser->yyidx = -1; }
  echo json_encode($r, JSON_INVALID_UTF8_SUBSTITUTE), "\n";
}

<?php
/* php_session.php - a tiny web application's session use, run by test_php_session.sh with
 * session.save_handler=memcached: the handler's defaults (binary protocol, consistent hashing,
 * namespace memc.sess.key., locking, lazy writes) do the memcached calls.
 *
 *   php_session.php login SID USER    start session SID, store the user's data (a login)
 *   php_session.php view SID          print the session's data as JSON ([] when there is none)
 *                                     and a digest of its exact bytes
 *   php_session.php logout SID        destroy the session
 *   php_session.php regen SID FILE    regenerate the id of session SID (deleting the old one),
 *                                     mark it; the new id goes to FILE, not stdout (it is random)
 * Output is deterministic, so that runs with and without the shim can be compared.
 */
ini_set('display_errors', 'stderr');

function open_session(string $sid): void
{
	session_id($sid);
	if (!session_start()) {
		fwrite(STDERR, "session_start failed for $sid\n");
		exit(1);
	}
}

$mode = $argv[1] ?? '';
$sid = $argv[2] ?? '';
switch ($mode) {
case 'login':
	open_session($sid);
	$_SESSION['user'] = $argv[3];
	$_SESSION['roles'] = ['reader', 'writer'];
	$_SESSION['cart'] = ['sku-1' => 2, 'sku-7' => 1];
	$_SESSION['note'] = "bytes: \x00\xff \"quoted\"\n";
	echo "login $sid {$argv[3]}\n";
	break;
case 'view':
	open_session($sid);
	/* the note's raw bytes are not UTF-8: the digest covers them */
	echo json_encode($_SESSION, JSON_INVALID_UTF8_SUBSTITUTE), ' ', sha1(serialize($_SESSION)), "\n";
	break;
case 'logout':
	open_session($sid);
	echo "logout $sid ", session_destroy() ? "ok" : "failed", "\n";
	exit(0);
case 'regen':
	open_session($sid);
	$ok = session_regenerate_id(true);
	$_SESSION['regenerated'] = true;
	file_put_contents($argv[3], session_id());
	echo "regen $sid ", $ok ? "ok" : "failed", "\n";
	break;
default:
	fwrite(STDERR, "usage: php_session.php login|view|logout|regen SID [USER|FILE]\n");
	exit(2);
}
if (!session_write_close()) {
	fwrite(STDERR, "session_write_close failed for $sid\n");
	exit(1);
}

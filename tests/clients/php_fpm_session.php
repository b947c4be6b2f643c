<?php
/* php_fpm_session.php - a page served by php-fpm (test_php_fpm.sh) that uses the memcached session
 * handler configured in the pool (session.save_handler=memcached). The query string says what to do:
 *   op=login&sid=SID&user=USER   start session SID and store the user's data
 *   op=view&sid=SID              print the session's data as JSON ([] when there is none) and a
 *                                digest of its exact bytes
 * Every response ends with the worker's pid (a line "pid N"), so the test can see that several
 * workers served the requests.
 */
header('Content-Type: text/plain');
$op = $_GET['op'] ?? '';
$sid = $_GET['sid'] ?? '';
if (!preg_match('/^[A-Za-z0-9-]+$/', $sid)) {
	http_response_code(400);
	echo "bad sid\n";
	exit;
}
session_id($sid);
if (!session_start()) {
	http_response_code(500);
	echo "session_start failed\n";
	exit;
}
if ($op === 'login') {
	$_SESSION['user'] = $_GET['user'] ?? '';
	$_SESSION['cart'] = ['sku-' . strlen($sid) => 3, 'sku-9' => 1];
	$_SESSION['note'] = "bytes: \x00\xff\n";
	echo "login $sid\n";
} elseif ($op === 'view') {
	echo json_encode($_SESSION, JSON_INVALID_UTF8_SUBSTITUTE), ' ', sha1(serialize($_SESSION)), "\n";
} else {
	http_response_code(400);
	echo "bad op\n";
}
session_write_close();
echo 'pid ', getmypid(), "\n";

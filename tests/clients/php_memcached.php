<?php
/* php_memcached.php - an application using PHP's Memcached class, run by test_php_memcached.sh.
 *
 *   php_memcached.php write PROTO SERVERS  the writes: setMulti, set with expiry, increment and
 *                                          decrement, append and prepend, touch, cas, add and
 *                                          replace that fail, delete and deleteMulti; each call's
 *                                          result and result code on stdout (deterministic)
 *   php_memcached.php check PROTO SERVERS WHEN
 *                                          read every key back and hold it to the contract below;
 *                                          WHEN is 'before' (the original servers: every key the
 *                                          writes left must be there) or 'after' (restarted
 *                                          servers after mcmirror replay: keys whose last write had
 *                                          an unknown outcome may be missing, never wrong)
 * PROTO is ascii or binary (OPT_BINARY_PROTOCOL); keys carry OPT_PREFIX_KEY "app.PROTO."; SERVERS is
 * 'host:port,host:port...' (the extension's default distribution: modula).
 * check prints one line per key and exits 1 when any key breaks the contract.
 */
ini_set('display_errors', 'stderr');

function client(string $proto, string $servers): Memcached
{
	$m = new Memcached();
	$m->setOption(Memcached::OPT_BINARY_PROTOCOL, $proto === 'binary');
	$m->setOption(Memcached::OPT_COMPRESSION, false); /* append and prepend need it off */
	$m->setOption(Memcached::OPT_PREFIX_KEY, "app.$proto.");
	foreach (explode(',', $servers) as $server) {
		[$host, $port] = explode(':', $server);
		$m->addServer($host, (int)$port);
	}
	return $m;
}

/* The contract: key => [class, value]. 'must': there with this value; 'gone': absent;
 * 'maybe': absent or this value (the mirror dropped the key: its write's outcome was unknown). */
function contract(string $proto): array
{
	$c = [
		'user:1' => ['must', ['name' => 'alice', 'age' => 30]],
		'user:2' => ['must', 'plain string v2'],
		'n:int' => ['must', 12345],
		'n:float' => ['must', 2.5],
		'flag' => ['must', true],
		'bin' => ['must', "\x00\x01\xff\r\nEND\r\n"],
		'token' => ['must', 'tok-3600'],
		'ctr' => ['must', 12],
		'log' => ['must', 'z-a-b'],
		'touched' => ['must', 'still here'],
		'del:1' => ['gone', null],
		'del:2' => ['gone', null],
		'del:3' => ['gone', null],
		'nokey' => ['gone', null],
	];
	if ($proto === 'binary') {
		/* increment with an initial value is increment_with_initial: on a missing key the
		 * result equals the initial value, which cannot tell "created" from "incremented to",
		 * so the mirror drops the key; the next increment does not bring it back. The server
		 * created the item with flags 0: PHP reads it back as a string */
		$c['ctr:init'] = ['maybe', '101'];
		$c['ctr:2'] = ['must', 10];
	}
	return $c;
}

function show($v): string
{
	return str_replace("\n", '', var_export($v, true));
}

function step(Memcached $m, string $what, $result): void
{
	echo $what, ' -> ', show($result), ' ', $m->getResultCode(), "\n";
}

function write(string $proto, string $servers): void
{
	$m = client($proto, $servers);
	step($m, 'setMulti', $m->setMulti([
		'user:1' => ['name' => 'alice', 'age' => 30], 'user:2' => 'plain string',
		'n:int' => 12345, 'n:float' => 2.5, 'flag' => true, 'bin' => "\x00\x01\xff\r\nEND\r\n",
		'del:1' => 'x', 'del:2' => 'y', 'del:3' => 'z',
	]));
	step($m, 'set token 3600', $m->set('token', 'tok-3600', 3600));
	step($m, 'set ctr', $m->set('ctr', 10));
	step($m, 'increment ctr 5', $m->increment('ctr', 5));
	step($m, 'decrement ctr 3', $m->decrement('ctr', 3));
	step($m, 'set log', $m->set('log', 'a'));
	step($m, 'append log', $m->append('log', '-b'));
	step($m, 'prepend log', $m->prepend('log', 'z-'));
	step($m, 'set touched', $m->set('touched', 'still here'));
	step($m, 'touch touched 900', $m->touch('touched', 900));
	$got = $m->get('user:2', null, Memcached::GET_EXTENDED);
	step($m, 'get user:2 extended', $got['value']);
	step($m, 'cas user:2', $m->cas($got['cas'], 'user:2', 'plain string v2'));
	step($m, 'add user:2 (exists)', $m->add('user:2', 'not stored'));
	step($m, 'replace nokey (missing)', $m->replace('nokey', 'not stored'));
	step($m, 'deleteMulti', $m->deleteMulti(['del:1', 'del:2', 'del:none']));
	step($m, 'delete del:3', $m->delete('del:3'));
	if ($proto === 'binary') {
		step($m, 'increment ctr:init 1 initial 100', $m->increment('ctr:init', 1, 100));
		step($m, 'increment ctr:init 1 initial 100', $m->increment('ctr:init', 1, 100));
		step($m, 'set ctr:2', $m->set('ctr:2', 7));
		step($m, 'increment ctr:2 3 initial 1000', $m->increment('ctr:2', 3, 1000));
	}
}

function check(string $proto, string $servers, string $when): int
{
	$m = client($proto, $servers);
	$bad = 0;
	foreach (contract($proto) as $key => [$class, $want]) {
		$got = $m->get($key);
		$present = $m->getResultCode() === Memcached::RES_SUCCESS;
		if ($present && $got === $want) {
			$ok = $class !== 'gone';
			$state = 'present';
		} elseif (!$present) {
			$ok = $class === 'gone' || ($class === 'maybe' && $when === 'after');
			$state = 'absent';
		} else {
			$ok = false;
			$state = 'WRONG VALUE ' . show($got);
		}
		echo $ok ? 'ok' : 'FAIL', " $proto $key ($class): $state\n";
		$bad += $ok ? 0 : 1;
	}
	return $bad ? 1 : 0;
}

[, $mode, $proto, $servers] = $argv + [null, '', '', ''];
if ($mode === 'write') {
	write($proto, $servers);
} elseif ($mode === 'check') {
	exit(check($proto, $servers, $argv[4] ?? ''));
} else {
	fwrite(STDERR, "usage: php_memcached.php write|check ascii|binary HOST:PORT[,HOST:PORT...] [before|after]\n");
	exit(2);
}

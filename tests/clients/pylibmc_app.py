"""pylibmc_app.py - an application using pylibmc, run by test_python_pylibmc.sh (Debian's python3).

  pylibmc_app.py write SERVERS    over the text and the binary protocol (ketama, two servers):
                                  set_multi (also with key_prefix), incr/decr, append/prepend,
                                  touch, cas, failing add/replace, delete_multi; then 8 threads
                                  writing at once, 4 with a Client each and 4 through one
                                  ClientPool. Each call's result on stdout (deterministic).
  pylibmc_app.py check SERVERS    read every key back: each must hold the value the writes left
                                  it, deleted keys must be absent. One line per failure (and a
                                  summary; at most 10 failures are shown); exit status 1 when any key is wrong or missing.
SERVERS is 'host:port,host:port'.
"""
import sys
import threading

import pylibmc

THREADS = 4
PER_THREAD = 150


def client(servers, binary):
    return pylibmc.Client(servers, binary=binary, behaviors={"ketama": True, "cas": True})


def proto_name(binary):
    return "bin" if binary else "txt"


def expected(binary):
    """Key -> the value the writes leave it, or None for a key that must be absent."""
    p = "py." + proto_name(binary) + "."
    want = {
        p + "user": {"name": "alice", "roles": ["reader", "writer"]},
        p + "text": "héllo wörld",
        p + "raw": b"\x00\x01\xff\r\nEND\r\n",
        p + "pre_a": "prefixed a",
        p + "pre_b": 22,
        p + "ctr": 110,
        p + "log": "z-a-b",
        p + "touched": "still here",
        p + "cas": "after cas",
        p + "del1": None,
        p + "del2": None,
        p + "nokey": None,
    }
    for t in range(2 * THREADS):
        for j in range(PER_THREAD):
            want["%sthr%d.k%d" % (p, t, j)] = "thread %d value %d" % (t, j) * (1 + j % 5)
        want["%sthr%d.count" % (p, t)] = PER_THREAD
        want["%sthr%d.gone" % (p, t)] = None
    return want


def outcome(call, *args):
    """The call's result, or the name of the exception it raised (the binary protocol reports a
    failed replace as pylibmc.NotFound)."""
    try:
        return call(*args)
    except pylibmc.Error as e:
        return type(e).__name__


def thread_writes(mc, p, t, results):
    """One thread's writes: its own keys, a counter, a key it deletes."""
    ok = 0
    mc.set("%sthr%d.count" % (p, t), 0)
    mc.set("%sthr%d.gone" % (p, t), "soon deleted")
    for j in range(PER_THREAD):
        ok += bool(mc.set("%sthr%d.k%d" % (p, t, j), "thread %d value %d" % (t, j) * (1 + j % 5)))
        mc.incr("%sthr%d.count" % (p, t))
    ok += bool(mc.delete("%sthr%d.gone" % (p, t)))
    results[t] = ok


def pooled_writes(pool, p, t, results):
    with pool.reserve() as mc:
        thread_writes(mc, p, t, results)


def write(servers, binary):
    p = "py." + proto_name(binary) + "."
    mc = client(servers, binary)
    out = []
    out.append(("set_multi", mc.set_multi({p + "user": {"name": "alice", "roles": ["reader", "writer"]},
                                           p + "text": "héllo wörld", p + "raw": b"\x00\x01\xff\r\nEND\r\n",
                                           p + "del1": 1, p + "del2": 2})))
    out.append(("set_multi key_prefix", mc.set_multi({"a": "prefixed a", "b": 22}, key_prefix=p + "pre_")))
    out.append(("set ctr", mc.set(p + "ctr", 100)))
    out.append(("incr ctr 15", mc.incr(p + "ctr", 15)))
    out.append(("decr ctr 5", mc.decr(p + "ctr", 5)))
    out.append(("set log", mc.set(p + "log", "a")))
    out.append(("append log", mc.append(p + "log", "-b")))
    out.append(("prepend log", mc.prepend(p + "log", "z-")))
    out.append(("set touched", mc.set(p + "touched", "still here")))
    out.append(("touch touched 900", mc.touch(p + "touched", 900)))
    out.append(("set cas", mc.set(p + "cas", "before cas")))
    value, token = mc.gets(p + "cas")
    out.append(("gets cas", value))
    out.append(("cas cas", mc.cas(p + "cas", "after cas", token)))
    out.append(("add text (exists)", outcome(mc.add, p + "text", "not stored")))
    out.append(("replace nokey (missing)", outcome(mc.replace, p + "nokey", "not stored")))
    out.append(("delete_multi", mc.delete_multi([p + "del1", p + "del2", p + "del-none"])))

    results = {}
    pool = pylibmc.ClientPool(mc, THREADS)
    threads = [threading.Thread(target=thread_writes, args=(client(servers, binary), p, t, results))
               for t in range(THREADS)]
    threads += [threading.Thread(target=pooled_writes, args=(pool, p, t, results))
                for t in range(THREADS, 2 * THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(2 * THREADS):
        out.append(("thread %d successes" % t, results.get(t)))
    for what, result in out:
        print("%s %s -> %r" % (proto_name(binary), what, result))


def check(servers, binary):
    mc = client(servers, binary)
    bad = checked = 0
    for key, want in expected(binary).items():
        checked += 1
        got = mc.get(key)
        if got != want:
            bad += 1
            if bad <= 10:
                print("FAIL %s: expected %r, got %r" % (key, want, got))
    print("%s: checked %d keys, %d wrong or missing" % (proto_name(binary), checked, bad))
    return bad == 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.stderr.write("usage: pylibmc_app.py write|check HOST:PORT[,HOST:PORT...]\n")
        return 2
    servers = sys.argv[2].split(",")
    ok = True
    for binary in (False, True):
        if sys.argv[1] == "write":
            write(servers, binary)
        else:
            ok = check(servers, binary) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

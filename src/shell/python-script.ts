/**
 * The Python side of the helper spawner, the fastest: it starts each job with
 * os.posix_spawn, which glibc carries out with vfork semantics (no copy of the
 * helper's page tables, no copy-on-write faults), so starting a job costs about
 * what it costs xargs. The same frames as the Perl helper (see perl-script.ts),
 * plus one the runner sends first:
 *
 *   runner -> here: V the jobs' environment (NUL-separated NAME=value)
 *   here -> runner: Y running (sent first, as the Perl helper does)
 *
 * Python may change its own environment at start-up (a C locale is coerced to
 * C.UTF-8), so the jobs get the environment the runner sends, never Python's.
 * Jobs get the standard signals at their defaults and an empty signal mask (Python
 * itself ignores SIGPIPE and SIGXFSZ), stdin from /dev/null, and a process group of
 * their own. A command that cannot be executed ends with status 127 and a
 * message on its stderr, as from a shell. Python 3.8 or later; with an older
 * one, or a platform without posix_spawn, jobs are forked instead.
 */
export const PYTHON_SPAWNER = String.raw`
import os, sys, select, struct, time, errno
# The C modules: 'signal' and 'collections' import enum and more, doubling start-up.
try:
    import _signal as signal
except ImportError:
    import signal
try:
    from _collections import deque
except ImportError:
    from collections import deque

IN, OUT = 0, 1
SIGNALS = [getattr(signal, n) for n in ('SIGPIPE', 'SIGXFSZ', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP', 'SIGCHLD', 'SIGUSR1', 'SIGUSR2', 'SIGALRM') if hasattr(signal, n)]
SPAWN = hasattr(os, 'posix_spawn') and sys.version_info >= (3, 8)

env = dict(os.environb)
null_in = os.open('/dev/null', os.O_RDONLY)
wake_r, wake_w = os.pipe()
os.set_blocking(wake_r, False)
os.set_blocking(wake_w, False)
try:
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
except TypeError:
    signal.set_wakeup_fd(wake_w)

state = {'stopping': 0}
def stop(*_):
    if not state['stopping']:
        state['stopping'] = 1
signal.signal(signal.SIGCHLD, lambda *_: None)
# Handlers, not SIG_IGN: a signal meant for the runner's group (Ctrl-C, timeout(1), a hang-up) must
# not stop the jobs behind the runner's back; the runner stops them, or its end closes our stdin.
for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, lambda *_: None)

out = bytearray()
lost = False
def frame(kind, id, payload=b''):
    out.extend(struct.pack('>cII', kind, id, len(payload)))
    out.extend(payload)

def flush():
    global lost
    while not lost and out:
        try:
            n = os.write(OUT, out)
            del out[:n]
        except BrokenPipeError:
            lost = True
        except BlockingIOError:
            select.select([], [OUT], [])
    if lost:
        out.clear()
        stop()

class Job:
    __slots__ = ('id', 'pid', 'open', 'status', 'ended', 'killed', 'fds')

jobs, by_pid, by_fd = {}, {}, {}
queue = deque()
limit, running = 1, 0
poller = select.poll()
poller.register(IN, select.POLLIN)
poller.register(wake_r, select.POLLIN)

def forked(argv, ow, ew, message):
    pid = os.fork()
    if pid == 0:
        try:
            os.setpgid(0, 0)
            for s in SIGNALS:
                signal.signal(s, signal.SIG_DFL)
            os.dup2(null_in, 0)
            os.dup2(ow, 1)
            os.dup2(ew, 2)
            if message is None:
                os.execve(argv[0], argv, env)
        except OSError as e:
            message = b'forkjoin: cannot run ' + argv[0] + b': ' + (e.strerror or 'error').encode()
        try:
            os.write(2, message + b'\n')
        finally:
            os._exit(127)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    return pid

# Out of file handles, processes or memory while other jobs run: this job waits for one of them
# to end, and at most as many as run now run from then on (L). With none running it cannot start.
def short(id, argv, why, e):
    global limit
    if running == 0 or e.errno not in (errno.EMFILE, errno.ENFILE, errno.EAGAIN, errno.ENOMEM):
        frame(b'F', id, why.encode())
        return
    queue.appendleft((id, argv))
    limit = running
    frame(b'L', running, why.encode())

def start(id, argv):
    global running
    fds = []
    try:
        fds.extend(os.pipe())
        fds.extend(os.pipe())
    except OSError as e:
        for fd in fds:
            os.close(fd)
        short(id, argv, 'cannot create a pipe: ' + (e.strerror or str(e)), e)
        return
    or_, ow, er, ew = fds
    started = time.time()
    try:
        if SPAWN:
            try:
                pid = os.posix_spawn(argv[0], argv, env, setpgroup=0, setsigmask=(), setsigdef=SIGNALS,
                                     file_actions=[(os.POSIX_SPAWN_DUP2, null_in, 0), (os.POSIX_SPAWN_DUP2, ow, 1), (os.POSIX_SPAWN_DUP2, ew, 2)])
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.ENOMEM):
                    raise
                pid = forked(argv, ow, ew, b'forkjoin: cannot run ' + argv[0] + b': ' + (e.strerror or 'error').encode())
        else:
            pid = forked(argv, ow, ew, None)
    except OSError as e:
        for fd in fds:
            os.close(fd)
        short(id, argv, 'cannot fork: ' + (e.strerror or str(e)), e)
        return
    os.close(ow)
    os.close(ew)
    j = Job()
    j.id, j.pid, j.open, j.status, j.ended, j.killed, j.fds = id, pid, 2, None, -1.0, False, [or_, er]
    jobs[id] = j
    by_pid[pid] = j
    by_fd[or_] = (j, b'O')
    by_fd[er] = (j, b'E')
    poller.register(or_, select.POLLIN)
    poller.register(er, select.POLLIN)
    running += 1
    frame(b'S', id, struct.pack('>Id', pid, started))

def group_alive(pid):
    try:
        os.killpg(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except OSError:
        return True

# A job ends once it has exited and closed its output; X tells whether its group lives on.
def settle(j):
    global running
    if j.open > 0 or j.status is None or j.id not in jobs:
        return
    del jobs[j.id]
    running -= 1
    frame(b'X', j.id, struct.pack('>IdB', j.status, j.ended, 1 if group_alive(j.pid) else 0))

def close_fd(fd):
    e = by_fd.pop(fd, None)
    if e is None:
        return
    poller.unregister(fd)
    os.close(fd)
    e[0].open -= 1

# A job killed with SIGKILL ends once it has exited: a process that left its group (setsid) and
# keeps its output open is not waited for.
def kill_outputs(j):
    j.killed = True
    if j.status is not None:
        close_outputs(j)
        settle(j)

def close_outputs(j):
    for fd in j.fds:
        e = by_fd.get(fd)
        if e is not None and e[0] is j:
            close_fd(fd)

def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        j = by_pid.pop(pid, None)
        if j is None:
            continue
        j.status = status
        j.ended = time.time()
        if j.killed:
            close_outputs(j)
        settle(j)

def command(kind, id, payload):
    global limit
    if kind == b'R':
        queue.append((id, payload.split(b'\0')))
    elif kind == b'r':
        queue.appendleft((id, payload.split(b'\0')))
    elif kind == b'K':
        sig = struct.unpack('>I', payload)[0]
        j = jobs.get(id)
        if j is not None:
            try:
                os.killpg(j.pid, sig)
            except OSError:
                pass
            if sig == signal.SIGKILL:
                kill_outputs(j)
        else:
            for q in queue:
                if q[0] == id:
                    queue.remove(q)
                    frame(b'D', id)
                    break
    elif kind == b'C':
        for q in queue:
            frame(b'D', q[0])
        queue.clear()
    elif kind == b'J':
        limit = id
    elif kind == b'V':
        env.clear()
        for entry in payload.split(b'\0'):
            name, eq, value = entry.partition(b'=')
            if eq and name:
                env[name] = value

inbuf = bytearray()
stdin_open = True
kill_at = 0.0
frame(b'Y', 0)
while True:
    if state['stopping'] == 1:
        state['stopping'] = 2
        for q in queue:
            frame(b'D', q[0])
        queue.clear()
        for j in jobs.values():
            try:
                os.killpg(j.pid, signal.SIGTERM)
            except OSError:
                pass
        kill_at = time.monotonic() + 2
    if kill_at and time.monotonic() >= kill_at:
        for j in list(jobs.values()):
            try:
                os.killpg(j.pid, signal.SIGKILL)
            except OSError:
                pass
            kill_outputs(j)
        kill_at = 0.0
    reap()
    while not state['stopping'] and (limit == 0 or running < limit) and queue:
        start(*queue.popleft())
    flush()
    if (not stdin_open or lost) and not jobs:
        break
    for fd, ev in poller.poll(250 if kill_at else None):
        if fd == wake_r:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        elif fd == IN:
            data = os.read(IN, 65536)
            if not data:
                stdin_open = False
                poller.unregister(IN)
                if jobs or queue:
                    stop()
                continue
            inbuf.extend(data)
            at = 0
            while len(inbuf) - at >= 9:
                kind, id, size = struct.unpack_from('>cII', inbuf, at)
                if len(inbuf) - at < 9 + size:
                    break
                command(kind, id, bytes(inbuf[at + 9:at + 9 + size]))
                at += 9 + size
            del inbuf[:at]
        else:
            e = by_fd.get(fd)
            if e is None:
                continue
            data = os.read(fd, 65536)
            if data:
                frame(e[1], e[0].id, data)
            else:
                close_fd(fd)
                settle(e[0])
flush()
`;

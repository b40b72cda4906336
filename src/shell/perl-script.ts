/**
 * The Perl side of HelperSpawner: a small process that forks jobs (a fork of a few-megabyte
 * Perl is far cheaper than a fork of Node), each in its own process group, and relays their
 * output and exit in frames. It needs only Perl's core (no modules beyond Errno).
 *
 * Frames both ways: type (1 byte) | id (u32 BE) | length (u32 BE) | payload.
 *   runner -> here: J max running (id; 0: no limit) | R run argv (NUL-separated) | r run first |
 *                   K signal the group (payload: u32 signal) | C drop every queued job
 *   here -> runner: Y running (sent first; a helper that exits before it is replaced) |
 *                   S started (u32 pid, f64 BE epoch seconds) | O stdout | E stderr |
 *                   X ended (u32 wait status, f64 BE epoch seconds, u8 1 if its process group
 *                   still has members) | D dropped | F cannot fork (message) |
 *                   L no more than this many run at once from now on (id: the limit; message:
 *                   why; the job that could not start runs first once another ends)
 * The times are -1 when Time::HiRes is missing (the runner then times jobs itself).
 * When its stdin closes while jobs run (the runner died), it sends them SIGTERM, then SIGKILL.
 */
export const PERL_SPAWNER = String.raw`
use strict;
$0 = 'forkjoin-spawner';
delete $ENV{PERL_BADLANG} if @ARGV && $ARGV[0] eq 'unset-badlang';
my $now = eval { require Time::HiRes; \&Time::HiRes::time } || sub { -1 };
my ($max, $running, $inbuf, $outbuf, $buf, $stopping, $lost, $kill_at, $stdin_open, $woken, $unreaped) = (1, 0, '', '', '', 0, 0, 0, 1, 0, 0);
my (@queue, %job, %by_pid, %by_fd, $poll);
# Frames travel on copies of stdin and stdout; fds 0, 1 and 2 are set up for each job before
# it is forked (so the child only has to exec) and point to /dev/null in between.
sub fail { print {$_[0]} "forkjoin-spawner: $_[1]: $!\n"; exit 1; }
open(my $from, '<&', \*STDIN) or fail(\*STDERR, 'stdin');
open(my $to, '>&', \*STDOUT) or fail(\*STDERR, 'stdout');
open(my $err, '>&', \*STDERR) or fail(\*STDERR, 'stderr');
open(my $null_in, '<', '/dev/null') or fail($err, '/dev/null');
open(my $null_out, '>', '/dev/null') or fail($err, '/dev/null');
open(STDIN, '<&', $null_in) or fail($err, 'stdin');
open(STDOUT, '>&', $null_out) or fail($err, 'stdout');
open(STDERR, '>&', $null_out) or fail($err, 'stderr');
pipe(my $wake_r, my $wake_w) or fail($err, 'pipe');
my $rin = '';
vec($rin, fileno $from, 1) = 1;
vec($rin, fileno $wake_r, 1) = 1;
# Handlers only, never IGNORE: exec gives the jobs every signal back at its default.
$SIG{CHLD} = sub { unless ($woken) { $woken = 1; syswrite($wake_w, 'x'); } };
$SIG{PIPE} = sub { $lost = 1; $stopping ||= 1; };
# A signal meant for the runner's group must not stop the jobs behind its back: the runner stops them.
$SIG{INT} = $SIG{QUIT} = $SIG{TERM} = $SIG{HUP} = sub { };

# Frames go out together, once per turn of the loop.
sub frame { $outbuf .= pack('aNN', $_[0], $_[1], length $_[2]) . $_[2]; }
sub flush {
  while (!$lost && length $outbuf) {
    my $n = syswrite($to, $outbuf);
    if (defined $n) { substr($outbuf, 0, $n, ''); }
    elsif (!($!{EINTR} || $!{EAGAIN})) { $lost = 1; $stopping ||= 1; }
  }
  $outbuf = '' if $lost;
}

# Out of file handles, processes or memory while other jobs run: this job waits for one of them
# to end, and at most as many as run now run from then on (L). With none running it cannot start.
sub short {
  my ($id, $argv, $why, $transient) = @_;
  if (!$transient || $running == 0) { frame('F', $id, $why); return; }
  unshift @queue, [$id, $argv];
  $max = $running;
  frame('L', $running, $why);
}

sub start {
  my ($id, $argv) = @_;
  my ($or, $ow, $er, $ew);
  unless (pipe($or, $ow) && pipe($er, $ew)) { short($id, $argv, "cannot create a pipe: $!", $!{EMFILE} || $!{ENFILE}); return; }
  # A dup needs a spare descriptor too: without it the job would run with no stdout.
  unless (open(STDOUT, '>&', $ow) && open(STDERR, '>&', $ew)) {
    my ($why, $transient) = ("cannot create a pipe: $!", $!{EMFILE} || $!{ENFILE});
    close $_ for $or, $ow, $er, $ew;
    open(STDOUT, '>&', $null_out);
    open(STDERR, '>&', $null_out);
    short($id, $argv, $why, $transient);
    return;
  }
  my $started = $now->();
  my $pid = fork;
  my $transient = $!{EAGAIN} || $!{ENOMEM};
  if (defined $pid && $pid == 0) {
    setpgrp(0, 0);
    exec { $argv->[0] } @$argv;
    print STDERR "forkjoin: cannot run $argv->[0]: $!\n";
    exit 127;
  }
  my $error = "$!";
  open(STDOUT, '>&', $null_out);
  open(STDERR, '>&', $null_out);
  close $ow;
  close $ew;
  unless (defined $pid) { close $or; close $er; short($id, $argv, "cannot fork: $error", $transient); return; }
  setpgrp($pid, $pid);
  my $j = { id => $id, pid => $pid, open => 2, status => undef, killed => 0 };
  $job{$id} = $j;
  $by_pid{$pid} = $j;
  $by_fd{fileno $or} = [$j, 'O', $or];
  $by_fd{fileno $er} = [$j, 'E', $er];
  vec($rin, fileno $or, 1) = 1;
  vec($rin, fileno $er, 1) = 1;
  $running++;
  frame('S', $id, pack('Nd>', $pid, $started));
}

# A job ends once it has exited and closed its output; X tells whether its group lives on.
sub settle {
  my $j = shift;
  return if $j->{open} > 0 || !defined $j->{status};
  delete $job{$j->{id}};
  $running--;
  frame('X', $j->{id}, pack('Nd>C', $j->{status}, $j->{ended}, kill(0, -$j->{pid}) ? 1 : 0));
}

sub close_fd {
  my $e = delete $by_fd{$_[0]} or return;
  vec($rin, $_[0], 1) = 0;
  close $e->[2];
  $unreaped++ if --$e->[0]{open} == 0 && !defined $e->[0]{status};
}

sub reap {
  while ((my $pid = waitpid(-1, 1)) > 0) {
    my $j = delete $by_pid{$pid} or next;
    $j->{status} = $?;
    $j->{ended} = $now->();
    $unreaped-- if $j->{open} == 0;
    if ($j->{killed}) { close_outputs($j); }
    settle($j);
  }
}

# A job killed with SIGKILL ends once it has exited: a process that left its group (setsid) and
# keeps its output open is not waited for.
sub kill_outputs {
  my ($j) = @_;
  $j->{killed} = 1;
  if (defined $j->{status}) { close_outputs($j); settle($j); }
}

sub close_outputs {
  my ($j) = @_;
  for my $fd (keys %by_fd) { close_fd($fd) if $by_fd{$fd} && $by_fd{$fd}[0] == $j; }
}

sub command {
  my ($type, $id, $payload) = @_;
  if ($type eq 'R') { push @queue, [$id, [split /\0/, $payload, -1]]; }
  elsif ($type eq 'r') { unshift @queue, [$id, [split /\0/, $payload, -1]]; }
  elsif ($type eq 'K') {
    my $signal = unpack('N', $payload);
    if (my $j = $job{$id}) { kill -$signal, $j->{pid}; kill_outputs($j) if $signal == 9; }
    else {
      my @keep = grep { $_->[0] != $id } @queue;
      if (@keep != @queue) { @queue = @keep; frame('D', $id, ''); }
    }
  }
  elsif ($type eq 'C') { frame('D', $_->[0], '') for @queue; @queue = (); }
  elsif ($type eq 'J') { $max = $id; }
}

frame('Y', 0, '');
for (;;) {
  if ($stopping == 1) {
    $stopping = 2;
    frame('D', $_->[0], '') for @queue;
    @queue = ();
    kill -15, $_->{pid} for values %job;
    $kill_at = time + 2;
  }
  if ($kill_at && time >= $kill_at) {
    for my $j (values %job) { kill -9, $j->{pid}; kill_outputs($j); }
    $kill_at = 0;
  }
  reap();
  while (!$stopping && ($max == 0 || $running < $max) && @queue) { start(@{shift @queue}); }
  flush();
  last if (!$stdin_open || $lost) && !%job;
  # A job that closed its output but is not reaped yet is exiting: poll for it briefly, backing
  # off (a SIGCHLD that lands just before select would otherwise leave it waiting).
  $poll = $unreaped > 0 ? ($poll ? ($poll < 0.05 ? $poll * 2 : 0.05) : 0.0005) : 0;
  my $timeout = $kill_at ? 0.25 : $poll ? $poll : undef;
  my $rout;
  my $ready = select($rout = $rin, undef, undef, $timeout);
  if ($ready < 0) { next if $!{EINTR}; fail($err, 'select'); }
  next if $ready == 0;
  if (vec($rout, fileno $wake_r, 1)) { sysread($wake_r, my $x, 64); $woken = 0; }
  for my $fd (keys %by_fd) {
    next unless vec($rout, $fd, 1);
    my $e = $by_fd{$fd} or next;
    my $got = sysread($e->[2], $buf, 65536);
    if ($got) { frame($e->[1], $e->[0]{id}, $buf); }
    elsif (defined $got || !($!{EINTR} || $!{EAGAIN})) { my $j = $e->[0]; close_fd($fd); settle($j); }
  }
  if ($stdin_open && vec($rout, fileno $from, 1)) {
    my $got = sysread($from, $inbuf, 65536, length $inbuf);
    if (!$got) {
      if (defined $got || !$!{EINTR}) { $stdin_open = 0; vec($rin, fileno $from, 1) = 0; $stopping ||= 1 if %job || @queue; }
      next;
    }
    my $at = 0;
    while (length($inbuf) - $at >= 9) {
      my ($type, $id, $len) = unpack('aNN', substr($inbuf, $at, 9));
      last if length($inbuf) - $at < 9 + $len;
      command($type, $id, substr($inbuf, $at + 9, $len));
      $at += 9 + $len;
    }
    substr($inbuf, 0, $at, '');
  }
}
flush();
exit 0;
`;

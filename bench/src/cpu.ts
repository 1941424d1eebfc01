import { readdirSync, readFileSync } from 'node:fs';

// USER_HZ: /proc reports CPU time in clock ticks of 1/100 s on Linux x86_64 and arm64 (sysconf
// CLK_TCK), which Node cannot query.
const TICKS_PER_SECOND = 100;
const ticksToMs = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;

/**
 * [user, system] CPU time a process has used so far, in ms (Linux /proc), or null when unavailable.
 */
export function userSysMs(pid: number): [number, number] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces, so split after its closing paren).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
    return [ticksToMs(utime), ticksToMs(stime)];
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system) a process has used so far, in ms (Linux /proc), or null when unavailable.
 * Differences of two readings give the CPU a phase cost that process, whatever else shares the
 * machine: a steadier figure than throughput on a busy 2-core host.
 */
export function cpuMs(pid: number): number | null {
  const us = userSysMs(pid);
  return us === null ? null : us[0] + us[1];
}

/** [user, system] CPU ms used so far by every `postgres` process on the machine (server and backends). */
export function postgresUserSysMs(): [number, number] {
  let user = 0;
  let sys = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue; // gone since the listing
    }
    const us = userSysMs(Number(pid));
    user += us?.[0] ?? 0;
    sys += us?.[1] ?? 0;
  }
  return [user, sys];
}

/** CPU ms used so far by every `postgres` process on the machine (server and backends), from /proc. */
export function postgresCpuMs(): number {
  const [user, sys] = postgresUserSysMs();
  return user + sys;
}

/** Idle + iowait ms of the whole machine so far, summed over its cores (/proc/stat, first line). */
export function machineIdleMs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.split(/\s+/) ?? [];
  return ticksToMs(Number(cpu[4]) + Number(cpu[5]));
}

/**
 * [voluntary, involuntary] context switches of a process's main thread so far (/proc/<pid>/status),
 * or null when unavailable. Voluntary: it blocked (waiting for I/O); involuntary: it was taken off
 * its core while it could still run (preempted). For a Node process, every involuntary switch stalls
 * its event loop until the scheduler gives the core back.
 */
export function contextSwitches(pid: number): [number, number] | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const voluntary = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1]);
    const involuntary = Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1]);
    if (!Number.isFinite(voluntary) || !Number.isFinite(involuntary)) return null;
    return [voluntary, involuntary];
  } catch {
    return null;
  }
}

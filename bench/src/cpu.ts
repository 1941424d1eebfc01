import { readdirSync, readFileSync } from 'node:fs';

// USER_HZ: /proc reports CPU time in clock ticks of 1/100 s on Linux x86_64 and arm64 (sysconf
// CLK_TCK), which Node cannot query.
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system) a process has used so far, in ms (Linux /proc), or null when unavailable.
 * Differences of two readings give the CPU a phase cost that process, whatever else shares the
 * machine: a steadier figure than throughput on a busy 2-core host.
 */
export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces, so split after its closing paren).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU ms used so far by every `postgres` process on the machine (server and backends), from /proc. */
export function postgresCpuMs(): number {
  let sum = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') sum += cpuMs(Number(pid)) ?? 0;
    } catch {}
  }
  return sum;
}

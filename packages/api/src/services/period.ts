import { DomainError } from '../errors.ts';

/**
 * `from` strictly before `to`, for every report and statement over [from, to): an empty or reversed
 * period is a mistake to report (400 INVALID_PERIOD), not an empty page that reads as "no activity".
 */
export function checkPeriodOrder(from: Date, to: Date): void {
  if (!(from.getTime() < to.getTime())) {
    throw new DomainError({
      code: 'BAD_REQUEST',
      reason: 'INVALID_PERIOD',
      message: '`from` must be before `to`',
    });
  }
}

/** Up to a year per usage report: bounded work per request (bigger periods: several calls). */
const MAX_AGGREGATE_PERIOD_MS = 366 * 86_400_000;

/** checkPeriodOrder, and at most 366 days: the usage reports aggregate the whole period in one query. */
export function checkPeriod(from: Date, to: Date): void {
  checkPeriodOrder(from, to);
  if (to.getTime() - from.getTime() > MAX_AGGREGATE_PERIOD_MS) {
    throw new DomainError({
      code: 'BAD_REQUEST',
      reason: 'INVALID_PERIOD',
      message: 'a report covers at most 366 days',
    });
  }
}

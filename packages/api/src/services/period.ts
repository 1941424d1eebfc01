import { DomainError } from '../errors.ts';

/**
 * `from` strictly before `to`, for every report and statement over [from, to): an empty or reversed
 * period is a mistake to report (400 INVALID_PERIOD), not an empty page that reads as "no activity".
 */
export function checkPeriodOrder(from: Date, to: Date): void {
  if (!(from.getTime() < to.getTime())) {
    throw new DomainError({ reason: 'INVALID_PERIOD' });
  }
}

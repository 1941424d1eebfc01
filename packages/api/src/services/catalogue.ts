import type { Db } from '@tollgate/db/client';
import {
  type Catalogue,
  defaultCatalogue,
  type PriceRule,
  parsePriceRule,
  resolveCatalogue,
} from '@tollgate/pricing';
import { sql } from 'drizzle-orm';

/*
 * The price catalogue in force: what every quote and submit prices with (services/pricing.ts,
 * services/jobs.ts) and what the tenant read of a priced request selects in the same statement
 * (auth/tenant.ts). Writing overrides is the admin's (services/admin/prices.ts).
 */

/**
 * The override rows in force at the statement's now(), as one JSON array ordered by id. A scalar
 * subquery so the tenant lookup of a priced request (auth/tenant.ts) can select it in the SAME
 * statement: one round trip, same snapshot, nothing cached.
 */
export const IN_FORCE_OVERRIDES = sql`(
  SELECT coalesce(json_agg(json_build_object('id', o.id, 'rule', o.rule) ORDER BY o.id), '[]'::json)
    FROM (SELECT DISTINCT ON (model) id, rule
            FROM price_overrides
           WHERE effective_from <= now()
           ORDER BY model, effective_from DESC, created_at DESC, id DESC) o)`;

/** What `IN_FORCE_OVERRIDES` and the database clock read; `loadCatalogue` turns it into a catalogue. */
export type InForceOverrides = { rows: { id: string; rule: unknown }[]; now: Date | string };

/**
 * The catalogue in force right now (DB clock): the built-in catalogue with, per model, the latest
 * override whose effective_from ≤ now(). Read on EVERY quote/submit (one indexed query, no TTL), so
 * a price change is seen by every gateway instance the moment it becomes effective — no cache
 * window during which a job could be charged the old price. Parsed rules and resolved catalogues
 * are memoised by override id (override rows are never edited in place once effective; a pending
 * one that is re-upserted gets a new id), so the per-call cost is the query. `preloaded`: the rows
 * already read with the tenant (jobs.submit, pricing.quote; auth/tenant.ts `loadTenantWithPricing`).
 */
export async function loadCatalogue(db: Db, preloaded?: InForceOverrides): Promise<Catalogue> {
  const read =
    preloaded ??
    (
      (await db.execute(
        sql`SELECT ${IN_FORCE_OVERRIDES} AS "rows", now() AS now`,
      )) as unknown as InForceOverrides[]
    )[0];
  if (read === undefined) throw new Error('SELECT without FROM returned no row');
  const { rows, now } = read;
  if (rows.length === 0) return defaultCatalogue;
  const key = rows.map((r) => r.id).join(',');
  const cached = catalogues.get(key);
  if (cached) return cached;
  const rules = rows.map((r) => parsedRule(r.id, r.rule));
  const catalogue = resolveCatalogue(defaultCatalogue, rules, new Date(now));
  if (catalogues.size > 64) catalogues.clear();
  catalogues.set(key, catalogue);
  return catalogue;
}

const catalogues = new Map<string, Catalogue>();
const rulesById = new Map<string, PriceRule>();

function parsedRule(id: string, json: unknown): PriceRule {
  const hit = rulesById.get(id);
  if (hit) return hit;
  const rule = parsePriceRule(json);
  if (rulesById.size > 1_000) rulesById.clear();
  rulesById.set(id, rule);
  return rule;
}

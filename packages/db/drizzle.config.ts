import { defineConfig } from 'drizzle-kit';

// `pnpm --filter @tollgate/db generate` writes SQL migrations into ./drizzle from the schema.
// Custom SQL (triggers) is added with `drizzle-kit generate --custom --name <name>`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
  strict: true,
});

// `@tollgate/db`: schema and types only. Importing this never opens a connection.

export { canonicalJson } from './canonical-json';
export type { Db } from './client';
export { newId } from './ids';
export * from './sandbox';
export * from './schema';

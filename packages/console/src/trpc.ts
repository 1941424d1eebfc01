import { QueryClient } from '@tanstack/react-query';
import type { AppRouter } from '@tollgate/api';
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';

/** Typed hooks for every procedure (`useTRPC().admin.tenants.list.queryOptions(…)`), from the gateway's router type. */
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type ConsoleClient = ReturnType<typeof createConsoleClient>;

/**
 * The tRPC client of one signed-in session: same origin `/trpc`, the credential as a Bearer header.
 */
export function createConsoleClient(opts: { credential: string; url?: string }) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: opts.url ?? '/trpc',
        maxItems: 10,
        headers: () => ({ authorization: `Bearer ${opts.credential}` }),
      }),
    ],
  });
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Operators act on what they see: refetch when they come back to the tab, never retry a 4xx.
        staleTime: 5_000,
        retry: (failures, err) => failures < 2 && !(err instanceof TRPCClientError && httpStatus(err) < 500),
      },
      mutations: { retry: false },
    },
  });
}

function httpStatus(err: TRPCClientError<AppRouter>): number {
  const status = (err.data as { httpStatus?: unknown } | undefined)?.httpStatus;
  return typeof status === 'number' ? status : 500;
}

/** The tRPC error code (`UNAUTHORIZED`, `FORBIDDEN`…) of an error, or null for anything else. */
export function errorCode(err: unknown): string | null {
  if (!(err instanceof TRPCClientError)) return null;
  const code = (err.data as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : null;
}

/** What an operator reads when a call fails: the gateway's message, its reason, and the request id to quote. */
export function describeError(err: unknown): {
  message: string;
  reason: string | null;
  requestId: string | null;
} {
  if (err instanceof TRPCClientError) {
    const data = (err.data ?? {}) as { reason?: unknown; requestId?: unknown };
    return {
      message: err.message,
      reason: typeof data.reason === 'string' ? data.reason : null,
      requestId: typeof data.requestId === 'string' ? data.requestId : null,
    };
  }
  return { message: err instanceof Error ? err.message : String(err), reason: null, requestId: null };
}

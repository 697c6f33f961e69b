/**
 * Pages of at most 500 records, ordered by id. `nextPageUrl` is an absolute URL carrying an opaque
 * keyset token; a GET-origin query keeps its `search` in it, a POST-origin one expects the same
 * body to be posted to it again, as Autotask's clients do.
 */
import { AutotaskRequestError } from './query.ts';
import type { EntityRecord } from './store.ts';

interface PageToken {
  pageSize: number;
  afterId: number;
  /** `afterId` of every earlier page, for `prevPageUrl`. */
  previous: number[];
}

export interface Page {
  items: EntityRecord[];
  next: string | undefined;
  previous: string | undefined;
  pageSize: number;
}

export function readPageToken(raw: string | undefined): PageToken | undefined {
  if (raw === undefined) return undefined;
  try {
    const token = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as PageToken;
    if (Number.isInteger(token.pageSize) && Number.isInteger(token.afterId) && Array.isArray(token.previous)) return token;
  } catch {
    // falls through to the vendor's error
  }
  throw new AutotaskRequestError('The paging parameter is not valid.');
}

function encode(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

/** One page of `rows` (ordered by id); the tokens of the pages around it. */
export function pageOf(rows: EntityRecord[], token: PageToken | undefined, maxRecords: number): Page {
  const pageSize = token?.pageSize ?? maxRecords;
  const afterId = token?.afterId ?? 0;
  const previous = token?.previous ?? [];
  const following = rows.filter((row) => row.id > afterId);
  const items = following.slice(0, pageSize);
  const last = items.at(-1);
  const earlier = previous.at(-1);
  return {
    items,
    pageSize,
    next: following.length > pageSize && last ? encode({ pageSize, afterId: last.id, previous: [...previous, afterId] }) : undefined,
    previous: earlier === undefined ? undefined : encode({ pageSize, afterId: earlier, previous: previous.slice(0, -1) }),
  };
}

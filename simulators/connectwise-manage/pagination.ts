import type { JsonObject } from './conditions.ts';

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 1000;

export interface Page {
  records: JsonObject[];
  /** The `Link` header; `''` for a forward-only last page, undefined when there is nothing to link. */
  link: string | undefined;
}

function positiveInt(text: string | null): number | undefined {
  if (text === null || !/^\d+$/.test(text.trim())) return undefined;
  const value = Number(text);
  return value >= 1 ? value : undefined;
}

function linkTo(url: URL, changes: Record<string, string>, rel: string): string {
  const target = new URL(url);
  for (const [name, value] of Object.entries(changes)) target.searchParams.set(name, value);
  return `<${target.toString()}>; rel="${rel}"`;
}

/**
 * Navigable paging (RFC 5988 `Link` with first/prev/next/last, every other query parameter kept) or,
 * with `pagination-type: forward-only`, keyset paging on `id > pageId` whose `Link` is always sent.
 * `records` are already filtered and ordered.
 */
export function paginate(records: JsonObject[], url: URL, forwardOnly: boolean): Page {
  const pageSize = Math.min(MAX_PAGE_SIZE, positiveInt(url.searchParams.get('pageSize')) ?? DEFAULT_PAGE_SIZE);
  if (forwardOnly) {
    const after = Number(url.searchParams.get('pageId') ?? 0) || 0;
    const remaining = records.filter((record) => Number(record.id) > after);
    const page = remaining.slice(0, pageSize);
    const last = page.at(-1);
    const next = new URL(url);
    next.searchParams.delete('page');
    return { records: page, link: remaining.length > pageSize && last ? linkTo(next, { pageId: String(last.id), pageSize: String(pageSize) }, 'next') : '' };
  }
  const page = positiveInt(url.searchParams.get('page')) ?? 1;
  const lastPage = Math.max(1, Math.ceil(records.length / pageSize));
  const size = String(pageSize);
  const links: string[] = [];
  if (page > 1) links.push(linkTo(url, { pageSize: size, page: '1' }, 'first'), linkTo(url, { pageSize: size, page: String(Math.min(page - 1, lastPage)) }, 'prev'));
  if (page < lastPage) links.push(linkTo(url, { pageSize: size, page: String(page + 1) }, 'next'), linkTo(url, { pageSize: size, page: String(lastPage) }, 'last'));
  return { records: records.slice((page - 1) * pageSize, page * pageSize), link: links.length > 0 ? links.join(', ') : undefined };
}

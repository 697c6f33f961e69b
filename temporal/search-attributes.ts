import { type defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import proto, { type temporal } from '@temporalio/proto';
import { ENGINE_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';

type AnySearchAttributeKey = ReturnType<typeof defineSearchAttributeKey<SearchAttributeType>>;

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

const INDEXED_VALUE_TYPES: Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.TEXT]: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.KEYWORD]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DOUBLE]: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  [SearchAttributeType.BOOL]: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  [SearchAttributeType.DATETIME]: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.KEYWORD_LIST]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

const GRPC_ALREADY_EXISTS = 6;

interface HasOperatorService {
  operatorService: temporal.api.operatorservice.v1.OperatorService;
}

/**
 * Registers the engine's search attributes where the namespace lacks them, so a fresh Temporal
 * (docker-compose, a new namespace) needs no manual set-up. An attribute registered with another
 * type is a misconfiguration: reported, not worked around.
 */
export async function ensureSearchAttributes(
  connection: HasOperatorService,
  namespace: string,
  keys: AnySearchAttributeKey[] = ENGINE_SEARCH_ATTRIBUTES,
): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = keys.filter((key) => {
    const existing = customAttributes[key.name];
    if (existing === undefined) return true;
    if (existing !== INDEXED_VALUE_TYPES[key.type]) {
      throw new Error(`search attribute ${key.name} exists in namespace ${namespace} as ${IndexedValueType[existing]}; the engine needs ${key.type}`);
    }
    return false;
  });
  if (missing.length > 0) await registerSearchAttributes(connection, namespace, missing);
  return missing.map((key) => key.name);
}

/** Adds the attributes without listing first: the time-skipping test server implements only this call. */
export async function registerSearchAttributes(connection: HasOperatorService, namespace: string, keys: AnySearchAttributeKey[] = ENGINE_SEARCH_ATTRIBUTES): Promise<void> {
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(keys.map((key) => [key.name, INDEXED_VALUE_TYPES[key.type]])),
    });
  } catch (error) {
    // The worker and the API both ensure at start; whichever comes second finds them there.
    if ((error as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw error;
  }
}

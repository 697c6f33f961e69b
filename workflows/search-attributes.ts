import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Search attributes are stored unencrypted and shown to every operator: IDs and kinds only, never names.
export const PartnerIdAttribute = defineSearchAttributeKey('PartnerId', SearchAttributeType.KEYWORD);
export const PsaKindAttribute = defineSearchAttributeKey('PsaKind', SearchAttributeType.KEYWORD);
/** Which loop a run belongs to: supervisor, provisioning, usage, alerts, agents ... */
export const CapabilityAttribute = defineSearchAttributeKey('Capability', SearchAttributeType.KEYWORD);
export const CustomerIdAttribute = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);

/** A customer workflow's phase (CustomerPhase), so operators and the API can filter by it. */
export const ProvisioningStateAttribute = defineSearchAttributeKey('ProvisioningState', SearchAttributeType.KEYWORD);

/** The supervisor's partner health (F1.5): `ok`, or `credentials-rejected` while a system refuses the partner's credentials. */
export const PartnerHealthAttribute = defineSearchAttributeKey('PartnerHealth', SearchAttributeType.KEYWORD);

export const ENGINE_SEARCH_ATTRIBUTES = [PartnerIdAttribute, PsaKindAttribute, CapabilityAttribute, CustomerIdAttribute, ProvisioningStateAttribute, PartnerHealthAttribute];

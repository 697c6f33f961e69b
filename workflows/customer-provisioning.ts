import type { CustomerWorkflowInput, CustomerWorkflowResult } from './messages.ts';

// Placeholder replaced in this change.
export async function customerProvisioning(input: CustomerWorkflowInput): Promise<CustomerWorkflowResult> {
  return { phase: 'pending', tenantId: input.carried?.tenantId ?? null, reason: null };
}

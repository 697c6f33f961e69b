import type { ProvisioningLoopInput } from './messages.ts';

// Placeholder replaced in this change.
export async function provisioningLoop(input: ProvisioningLoopInput): Promise<string> {
  return input.partnerId;
}

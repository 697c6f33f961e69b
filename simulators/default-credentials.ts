/** CONTRACT's default credentials: valid after start and after every reset, shown in each `/_sim/state`. */
export const DEFAULT_CREDENTIALS = {
  acronis: { clientId: 'sim-client', clientSecret: 'sim-secret', partnerTenantName: 'Sim Partner' },
  'connectwise-manage': { companyId: 'simco', publicKey: 'sim-public', privateKey: 'sim-private', clientId: 'sim-client-id' },
  autotask: { username: 'sim-api@example.com', secret: 'sim-secret', integrationCode: 'SIMINTEGRATIONCODE' },
  automate: { username: 'sim-admin', password: 'sim-password', clientId: 'sim-client-id' },
} as const;

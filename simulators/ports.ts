export const SIMULATED_VENDORS = ['acronis', 'connectwise-manage', 'autotask', 'automate'] as const;
export type SimulatedVendor = (typeof SIMULATED_VENDORS)[number];

/** CONTRACT's default ports and the variables that change them. */
export const SIMULATOR_PORTS: Record<SimulatedVendor, { port: number; variable: string }> = {
  acronis: { port: 4101, variable: 'SIM_ACRONIS_PORT' },
  'connectwise-manage': { port: 4102, variable: 'SIM_CWM_PORT' },
  autotask: { port: 4103, variable: 'SIM_AUTOTASK_PORT' },
  automate: { port: 4104, variable: 'SIM_AUTOMATE_PORT' },
};

import type { AcronisAgentHost } from '../world.ts';
import type { AutomateStore, ComputerRecord } from './store.ts';

/**
 * What the Acronis plugin for Automate installs: its scripts under Scripts > Backup and Recovery >
 * Acronis, and its internal monitors. The scripts are what reach the Acronis cloud; this module
 * is where the simulated world links the two vendors.
 */

/**
 * The machine's identity in the Acronis cloud, stable for the life of the computer. Computer ids
 * are an Automate server's own, so the key names the server too: several Automates (one per MSP)
 * share one Acronis cloud.
 */
export const machineKeyOf = (store: Pick<AutomateStore, 'instanceId'>, computerId: number): string => `automate:${store.instanceId}:${computerId}`;

export const REGISTRATION_TOKEN_PARAMETER = 'RegistrationToken';

export const SCRIPT_FOLDERS = [
  { Id: 40, Name: 'Backup and Recovery', ParentId: 0 },
  { Id: 41, Name: 'Acronis', ParentId: 40 },
] as const;

type ScriptAction = 'install' | 'install-with-backup-monitor' | 'uninstall';

export interface PluginScript {
  Id: number;
  Name: string;
  GUID: string;
  Parameters: readonly string[];
  action: ScriptAction;
}

export const PLUGIN_SCRIPTS: readonly PluginScript[] = [
  { Id: 6101, Name: 'Acronis Data Cloud agent Install/Upgrade', GUID: '3f1d7c3e-5a0b-4c55-9a61-acd0c10a6101', Parameters: [REGISTRATION_TOKEN_PARAMETER], action: 'install' },
  {
    Id: 6102,
    Name: 'Acronis Data Cloud agent Install/Upgrade with backup monitor',
    GUID: '3f1d7c3e-5a0b-4c55-9a61-acd0c10a6102',
    Parameters: [REGISTRATION_TOKEN_PARAMETER],
    action: 'install-with-backup-monitor',
  },
  { Id: 6103, Name: 'Acronis Data Cloud agent Uninstall', GUID: '3f1d7c3e-5a0b-4c55-9a61-acd0c10a6103', Parameters: [], action: 'uninstall' },
];

export const PLUGIN_MONITORS = [
  'Acronis Backup - Clients - Critical Issues',
  'Acronis Backup - Clients - Non Critical Issues',
  'Acronis Backup - Clients - Warnings',
  'Acronis Backup - Computers - Critical Issues',
  'Acronis Backup - Computers - Non Critical Issues',
  'Acronis Backup - Computers - Warnings',
  'Acronis Backup - Computers - Missed Backups',
  'Acronis Backup - Computers - Not protected',
].map((name, index) => ({ Id: 9001 + index, Name: name }));

export function renderScript(script: PluginScript) {
  const folder = SCRIPT_FOLDERS[1];
  return {
    Id: script.Id,
    Name: script.Name,
    Folder: { Id: folder.Id, Name: folder.Name, ParentId: folder.ParentId },
    Parameters: [...script.Parameters],
    IsComputerScript: true,
    IsLocationScript: false,
    IsOffline: false,
    GUID: script.GUID,
    Version: 1,
  };
}

export interface ScriptEffect {
  outcome: 'Success' | 'Failed';
  output: string;
}

/** What the script does once the agent has run it: install, upgrade or remove the Acronis agent. */
export function runPluginScript(script: PluginScript, store: AutomateStore, computer: ComputerRecord, parameters: Record<string, string>, agents: AcronisAgentHost): ScriptEffect {
  const machineKey = machineKeyOf(store, computer.id);
  const withMonitor = script.action === 'install-with-backup-monitor';
  const monitorNote = withMonitor ? ' Backup monitor installed.' : '';

  if (script.action === 'uninstall') {
    const removed = agents.unregisterAgent(machineKey);
    computer.backupMonitorInstalled = false;
    return { outcome: 'Success', output: removed ? 'Acronis agent uninstalled and unregistered.' : 'No Acronis agent was installed; nothing to remove.' };
  }

  const existing = agents.agentOf(machineKey);
  if (existing) {
    if (!agents.upgradeAgent(machineKey)) return { outcome: 'Failed', output: `The Acronis agent ${existing.version} could not be upgraded.` };
    if (withMonitor) computer.backupMonitorInstalled = true;
    return { outcome: 'Success', output: `Acronis agent upgraded from ${existing.version} to ${agents.agentOf(machineKey)?.version ?? 'the latest version'}.${monitorNote}` };
  }

  const token = Object.entries(parameters).find(([name]) => name.toLowerCase() === REGISTRATION_TOKEN_PARAMETER.toLowerCase())?.[1]?.trim() ?? '';
  if (token === '') return { outcome: 'Failed', output: `The ${REGISTRATION_TOKEN_PARAMETER} parameter is required to install the Acronis agent.` };
  const registration = agents.registerAgent({ registrationToken: token, machineKey, hostname: computer.name, os: computer.os });
  if (!registration.ok) return { outcome: 'Failed', output: `Acronis agent installed, but registration was refused: ${registration.reason}` };
  if (withMonitor) computer.backupMonitorInstalled = true;
  return { outcome: 'Success', output: `Acronis agent installed and registered as ${registration.agentId} in tenant ${registration.tenantId}.${monitorNote}` };
}

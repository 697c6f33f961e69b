/** The fixed parts of the simulated cloud: services, the offering-item catalogue, alert types. */

export const BACKUP_APPLICATION_ID = '6e6d758d-8e74-3ae3-ac84-50eb0dff12eb';
export const PLATFORM_APPLICATION_ID = '7459244f-68f3-3bf4-9f53-5f63ecc1d91f';
export const FILES_CLOUD_APPLICATION_ID = 'dfd85a5f-a464-32ab-81fd-99bcc66a070f';
/** The data centre's default backup storage: fixed, so a partner can map storage items to SKUs once. */
export const DEFAULT_STORAGE_ID = '1a8f7a3c-5c2b-4f1e-9d4b-7c6e2f0a9b11';
export const DEFAULT_LOCATION_ID = '3c0d2b6e-7d41-4a55-8f0e-2b9f4e61c7d2';

export interface Application {
  id: string;
  name: string;
  type: string;
  api_base_url: string;
  usages: string[];
}

export const APPLICATIONS: Application[] = [
  {
    id: BACKUP_APPLICATION_ID,
    name: 'Cyber Protection',
    type: 'backup',
    api_base_url: '/bc/',
    usages: ['workstations', 'servers', 'vms', 'virtualhosts', 'o365_seats', 'storage', 'local_storage', 'workstation_storage', 'server_storage', 'vm_storage', 'total_storage'],
  },
  { id: FILES_CLOUD_APPLICATION_ID, name: 'File Sync & Share', type: 'files_cloud', api_base_url: '/fc/', usages: ['fc_seats', 'fc_storage'] },
  { id: PLATFORM_APPLICATION_ID, name: 'Management Portal', type: 'platform', api_base_url: '/mc/', usages: [] },
];

export type OfferingItemType = 'count' | 'feature' | 'infra';
export type MeasurementUnit = 'quantity' | 'bytes' | 'seconds' | 'n/a';

export interface CatalogueItem {
  application_id: string;
  name: string;
  edition: string | null;
  usage_name: string;
  type: OfferingItemType;
  measurement_unit: MeasurementUnit;
}

const EDITION_PREFIXES: [edition: string, prefix: string][] = [
  ['standard', ''],
  ['pck_per_workload', 'pw_base_'],
  ['pck_per_gigabyte', 'pg_base_'],
];
const WORKLOADS = ['workstations', 'servers', 'vms', 'virtualhosts', 'o365_seats'];

/** Per-workload and per-gigabyte Cyber Protection, the legacy standard edition, and the editionless items. */
export const CATALOGUE: CatalogueItem[] = [
  ...EDITION_PREFIXES.flatMap(([edition, prefix]) => [
    ...WORKLOADS.map((usage): CatalogueItem => ({ application_id: BACKUP_APPLICATION_ID, name: `${prefix}${usage}`, edition, usage_name: usage, type: 'count', measurement_unit: 'quantity' })),
    { application_id: BACKUP_APPLICATION_ID, name: `${prefix}storage`, edition, usage_name: 'storage', type: 'infra', measurement_unit: 'bytes' } satisfies CatalogueItem,
  ]),
  { application_id: BACKUP_APPLICATION_ID, name: 'local_storage', edition: null, usage_name: 'local_storage', type: 'count', measurement_unit: 'bytes' },
  { application_id: FILES_CLOUD_APPLICATION_ID, name: 'fc_seats', edition: 'fss_legacy', usage_name: 'fc_seats', type: 'count', measurement_unit: 'quantity' },
];

/** Usages reported without an offering item (storage breakdowns). */
export const REPORTING_USAGES: { usage_name: string; application_id: string; measurement_unit: MeasurementUnit }[] = ['workstation_storage', 'server_storage', 'vm_storage', 'total_storage'].map(
  (usage_name) => ({ usage_name, application_id: BACKUP_APPLICATION_ID, measurement_unit: 'bytes' }),
);

export type Severity = 'ok' | 'information' | 'warning' | 'error' | 'critical';
export const SEVERITY_ORDER: Severity[] = ['ok', 'information', 'warning', 'error', 'critical'];

export interface AlertType {
  id: string;
  severity: Severity;
  enabled: boolean;
  category: string;
  /** Details that identify one alert of this type: a new alert with the same values re-raises it. */
  contextKeys: string[];
  searchableDetails: string[];
}

const backupType = (id: string, severity: Severity): AlertType => ({ id, severity, enabled: true, category: 'Backup', contextKeys: ['planId', 'resourceId'], searchableDetails: ['planName', 'resourceName'] });

export const ALERT_TYPES: AlertType[] = [
  backupType('BackupFailed', 'critical'),
  backupType('BackupSucceededWithWarnings', 'warning'),
  backupType('BackupCanceled', 'warning'),
  backupType('BackupDidNotStart', 'error'),
  backupType('NoBackupForXDays', 'error'),
  { id: 'MachineOffline', severity: 'warning', enabled: true, category: 'Monitoring', contextKeys: ['resourceId'], searchableDetails: ['resourceName'] },
  { id: 'AgentAutoUpdateFailed', severity: 'warning', enabled: true, category: 'Management', contextKeys: ['resourceId'], searchableDetails: ['resourceName'] },
  { id: 'DrStorageHardQuotaExceeds', severity: 'critical', enabled: true, category: 'Disaster recovery', contextKeys: [], searchableDetails: [] },
];

export const ALERT_CATEGORIES = ['Backup', 'Disaster recovery', 'Monitoring', 'Management', 'Antimalware protection', 'EDR'];

/** Agent releases the simulated cloud knows, oldest first; new agents install the first, updates go to the last. */
export const AGENT_RELEASES = [
  { release_id: '24.9', build: '24.9.38607' },
  { release_id: '24.11', build: '24.11.39130' },
];

import { randomUUID } from 'node:crypto';
import type { SimClock } from '../kit/sim-clock.ts';

/** What `PATCH /_sim/settings` can change; back to these defaults on reset. */
export interface AutomateSettings {
  tokenLifetimeSeconds: number;
  /** A token can be refreshed until this long after its first login. */
  absoluteTokenLifetimeSeconds: number;
  twoFactorRequired: boolean;
  twoFactorPasscode: string;
  /** How long a script runs on an online agent before it completes. */
  scriptDurationMs: number;
  /** How long a command takes on an online agent before it reaches Success or Failed. */
  commandDurationMs: number;
}

export const DEFAULT_SETTINGS: AutomateSettings = {
  tokenLifetimeSeconds: 3600,
  absoluteTokenLifetimeSeconds: 86_400,
  twoFactorRequired: false,
  twoFactorPasscode: '123456',
  scriptDurationMs: 3000,
  commandDurationMs: 2000,
};

export interface TokenRecord {
  userId: number;
  expiresAtMs: number;
  absoluteExpiresAtMs: number;
}

export interface AddressFields {
  Address1: string | null;
  Address2: string | null;
  City: string | null;
  State: string | null;
  ZipCode: string | null;
  Country: string | null;
  PhoneNumber: string | null;
}

export interface ClientRecord extends AddressFields {
  Id: number;
  Name: string;
  Company: string | null;
  ExternalId: number | null;
  Comment: string | null;
  DateCreated: string;
}

export interface LocationRecord extends AddressFields {
  Id: number;
  ClientId: number;
  Name: string;
  ProbeId: number;
  ExternalId: number | null;
  Comment: string | null;
}

export interface ComputerRecord {
  id: number;
  clientId: number;
  locationId: number;
  name: string;
  os: string;
  osVersion: string | null;
  type: 'Workstation' | 'Server';
  online: boolean;
  lastContactMs: number;
  addedMs: number;
  lastInventoryMs: number;
  serialNumber: string;
  macAddress: string;
  localIpAddress: string;
  domainName: string;
  isVirtualMachine: boolean;
  backupMonitorInstalled: boolean;
}

export interface RetiredAssetRecord {
  computer: ComputerRecord;
  retiredMs: number;
}

export interface NetworkDeviceRecord {
  Id: number;
  Name: string;
  LocationId: number;
  LocalIPAddress: string | null;
  MACAddress: string | null;
  DeviceType: string | null;
  DetectionTemplateName: string | null;
  Status: string;
}

export interface ScheduledScriptRecord {
  id: number;
  scriptId: number;
  computerId: number;
  parameters: string;
  scheduleType: number;
  priority: number;
  skipOffline: boolean;
  offlineOnly: boolean;
  wakeOffline: boolean;
  nextRunMs: number;
  createdMs: number;
}

/** Scheduled: not yet due. Pending: due, waiting for an offline agent. */
export type ScriptRunStatus = 'Scheduled' | 'Pending' | 'Running' | 'Completed';
export type ScriptOutcome = 'Success' | 'Failed' | 'Skipped';

export interface ScriptRunRecord {
  id: number;
  scriptId: number;
  computerId: number;
  scheduledScriptId: number | null;
  parameters: Record<string, string>;
  status: ScriptRunStatus;
  dueMs: number;
  queuedMs: number;
  startedMs: number | null;
  finishedMs: number | null;
  outcome: ScriptOutcome | null;
  output: string | null;
}

export type CommandStatus = 'Pending' | 'Executing' | 'Success' | 'Failed';

export interface CommandExecutionRecord {
  id: number;
  computerId: number;
  commandId: number;
  parameters: string[];
  status: CommandStatus;
  output: string | null;
  fasTalk: boolean;
  issuedMs: number;
  finishedMs: number | null;
}

export interface AlertRecord {
  id: number;
  computerId: number;
  monitorId: number;
  severity: string;
  message: string;
  fieldName: string | null;
  dateMs: number;
}

export interface TicketRecord {
  id: number;
  computerId: number;
  monitorId: number;
  subject: string;
  status: string;
  priority: string;
  categoryId: number;
  categoryName: string;
  externalId: number | null;
  startMs: number;
  updateMs: number;
  comments: string[];
}

type IdKind = 'client' | 'location' | 'computer' | 'networkDevice' | 'schedule' | 'run' | 'command' | 'alert' | 'ticket' | 'user';

/** Everything the Automate simulator remembers; emptied by reset, time read only from the clock. */
export class AutomateStore {
  /** This server among the Automates sharing one simulated world. */
  readonly instanceId = randomUUID().slice(0, 8);
  readonly clock: SimClock;
  settings: AutomateSettings = { ...DEFAULT_SETTINGS };
  readonly tokens = new Map<string, TokenRecord>();
  readonly clients = new Map<number, ClientRecord>();
  readonly locations = new Map<number, LocationRecord>();
  readonly computers = new Map<number, ComputerRecord>();
  readonly retiredAssets = new Map<number, RetiredAssetRecord>();
  readonly networkDevices = new Map<number, NetworkDeviceRecord>();
  readonly schedules = new Map<number, ScheduledScriptRecord>();
  readonly runs = new Map<number, ScriptRunRecord>();
  readonly commandExecutions = new Map<number, CommandExecutionRecord>();
  readonly alerts = new Map<number, AlertRecord>();
  readonly tickets = new Map<number, TicketRecord>();
  #ids = new Map<IdKind, number>();
  readonly #tasks = new Set<number>();

  constructor(clock: SimClock) {
    this.clock = clock;
  }

  nowMs(): number {
    return this.clock.nowMs();
  }

  nextId(kind: IdKind): number {
    const id = (this.#ids.get(kind) ?? 0) + 1;
    this.#ids.set(kind, id);
    return id;
  }

  /** Runs `work` at simulated time `dueMs`; reset cancels it. */
  at(dueMs: number, work: () => void): void {
    const id = this.clock.at(dueMs, () => {
      this.#tasks.delete(id);
      work();
    });
    this.#tasks.add(id);
  }

  reset(): void {
    for (const id of this.#tasks) this.clock.cancel(id);
    this.#tasks.clear();
    this.settings = { ...DEFAULT_SETTINGS };
    this.#ids = new Map();
    for (const table of [this.tokens, this.clients, this.locations, this.computers, this.retiredAssets, this.networkDevices, this.schedules, this.runs, this.commandExecutions, this.alerts, this.tickets]) {
      table.clear();
    }
  }
}

export const isoOf = (ms: number): string => new Date(ms).toISOString();

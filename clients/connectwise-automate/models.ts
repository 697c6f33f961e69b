/** ConnectWise Automate's REST models as the API sends them: PascalCase, ids as numbers. */

export interface Reference {
  Id: number;
  Name: string | null;
}

export interface TokenResult {
  AccessToken: string | null;
  TokenType: string;
  ExpirationDate: string | null;
  AbsoluteExpirationDate: string | null;
  UserId: number;
  InternalUserName: string;
  IsTwoFactorRequired: boolean;
  IsInternalTwoFactorRequired: boolean;
}

interface Address {
  Address1: string | null;
  Address2: string | null;
  City: string | null;
  State: string | null;
  ZipCode: string | null;
  Country: string | null;
  PhoneNumber: string | null;
}

export interface AutomateClient extends Address {
  Id: number;
  Name: string;
  Company: string | null;
  /** The PSA company id when the client is linked to one. */
  ExternalId: number | null;
  Comment: string | null;
  Locations: Reference[];
}

export interface AutomateLocation extends Address {
  Id: number;
  Name: string;
  Client: Reference;
  ProbeId: number;
  ExternalId: number | null;
  Comment: string | null;
}

export type ClientInput = Partial<Omit<AutomateClient, 'Id' | 'Locations'>> & { Name: string };
export type LocationInput = Partial<Omit<AutomateLocation, 'Id' | 'Client'>> & { Name: string; ClientId: number };

/** `LabTech.Models.Computer`: agent-managed machines only. */
export interface AutomateComputer {
  Id: number;
  ComputerName: string;
  FriendlyName: string | null;
  Client: Reference;
  Location: Reference;
  Type: 'Workstation' | 'Server' | string;
  OperatingSystemName: string;
  OperatingSystemVersion: string | null;
  DomainName: string | null;
  Status: 'Online' | 'Offline';
  RemoteAgentLastContact: string;
  LastHeartbeat: string | null;
  RemoteAgentVersion: string | null;
  LastInventoryReceived: string | null;
  DateAdded: string | null;
  SerialNumber: string | null;
  MACAddress: string | null;
  LocalIPAddress: string | null;
  GatewayIPAddress: string | null;
  LastUserName: string | null;
  IsVirtualMachine: boolean;
  IsMaintenanceModeEnabled: boolean;
  IsRebootNeeded: boolean;
  OpenPortsTCP: number[];
  OpenPortsUDP: number[];
}

/** One entry of `/Computers/{id}/Software`. */
export interface AutomateSoftware {
  Id: number;
  Name: string;
  Version: string | null;
  Publisher: string | null;
}

export interface AutomateScript {
  Id: number;
  Name: string;
  Folder: { Id: number; Name: string; ParentId: number } | null;
  /** Parameter names the script reads. */
  Parameters: string[];
  IsComputerScript: boolean;
  IsLocationScript: boolean;
  IsOffline: boolean;
  GUID: string;
  Version: number;
}

export interface ScheduledScript {
  Id: number;
  ScriptId: number;
  ComputerId: number;
  /** `name=value|name=value|` */
  Parameters: string;
  ScheduleType: number;
  NextRun: string;
  Priority: number;
  SkipOffline: boolean;
  OfflineOnly: boolean;
  WakeOffline: boolean;
}

export interface BatchScriptResult {
  ScriptResults: { EntityId: number; ResultDetails: { ResultStatus: number; ReasonCode: number; Message: string } }[];
  ContainsUnsuccessfulResults: boolean;
}

export interface RunningScript {
  Id: number;
  ScriptId: number;
  ScriptName: string | null;
  ComputerId: number;
  ComputerName: string | null;
  ScheduledScriptId: number | null;
  /** Pending while the agent is offline, then Running, then Completed. */
  Status: 'Pending' | 'Running' | 'Completed' | string;
  QueuedDate: string;
  StartedDate: string | null;
  CompletedDate: string | null;
}

export interface ScriptHistoryEntry {
  Id: number;
  ScriptId: number;
  ScriptName: string | null;
  ComputerId: number;
  ComputerName: string | null;
  Parameters: string;
  StartedDate: string | null;
  HistoryDate: string;
  Status: 'Success' | 'Failed' | 'Skipped' | string;
  Output: string | null;
}

export type CommandStatus = 'Pending' | 'Executing' | 'Success' | 'Failed';

export interface CommandExecution {
  Id: number;
  ComputerId: number;
  Command: { Id: number; Name?: string };
  Status: CommandStatus | string;
  Parameters: string[];
  Output: string | null;
  DateIssued?: string;
}

export interface AutomateTicket {
  TicketId: number;
  Subject: string;
  Client: Reference | null;
  Computer: Reference | null;
  Location: Reference | null;
  Status: string;
  Priority: string;
  CategoryId: number;
  CategoryName: string | null;
  MonitorId: number | null;
  /** The PSA ticket id when the ticket is synced to one. */
  ExternalId: number | null;
  StartDate: string;
  UpdateDate: string;
}

export interface AutomateAlert {
  AlertId: number;
  Client: Reference | null;
  Computer: Reference | null;
  Location: Reference | null;
  Monitor: Reference | null;
  AlertDate: string;
  Severity: string;
  Source: string;
  Message: string;
  FieldName: string | null;
}
